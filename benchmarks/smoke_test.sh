#!/usr/bin/env bash
# Runs every benchmark once at a small size and fails if any reported an error (the
# programs check their own results: node counts, array contents). Keeps the suite
# from rotting; it measures nothing.
set -euo pipefail
bin="$1"
out="${TEST_TMPDIR:-/tmp}/smoke.json"
"$bin" --binary_trees_depth=10 --benchmark_min_time=0.01 \
  --benchmark_out="$out" --benchmark_out_format=json >/dev/null
python3 - "$out" <<'PY'
import json, sys
runs = json.load(open(sys.argv[1]))["benchmarks"]
bad = [r["name"] + ": " + r.get("error_message", "") for r in runs if r.get("error_occurred")]
names = {r["name"].split("/")[0] for r in runs}
for must in ("BM_Alloc", "BM_GCBench", "BM_BinaryTrees"):
    if must not in names:
        bad.append(must + " did not run")
print(f"{len(runs)} benchmark runs")
if bad:
    print("\n".join(bad))
    sys.exit(1)
PY
