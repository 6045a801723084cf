#!/usr/bin/env bash
# Runs every benchmark of a suite once at a small size and fails if any reported an
# error (the benchmarks check their own results: node counts, array contents, chain
# lengths, table sizes). Keeps the suites from rotting; it measures nothing.
#
#   smoke_test.sh BINARY [FAMILIES [FLAG...]]
#
# FAMILIES is a comma-separated list of benchmarks that must have run: a family
# (BM_Alloc) or a longer prefix of the name (BM_WeakRefChurn/shared_ptr), matched up to
# a '/'. The FLAGs (the small sizes) go to the binary. With BINARY alone, the
# gc_benchmarks defaults apply.
set -euo pipefail
bin="$1"
families="${2:-BM_Alloc,BM_GCBench,BM_BinaryTrees}"
if [[ $# -ge 2 ]]; then
  shift 2
  flags=("$@")
else
  flags=(--binary_trees_depth=10)
fi
out="${TEST_TMPDIR:-/tmp}/smoke-$(basename "$bin").json"
# Not under CI's stress run (GCLAB_STRESS): a verified collection every 64 allocations
# of GCBench on every collector takes minutes, and the tests cover the collectors under
# stress already.
env -u GCLAB_STRESS "$bin" "${flags[@]}" --benchmark_min_time=0.01 \
  --benchmark_out="$out" --benchmark_out_format=json >/dev/null
python3 - "$out" "$families" <<'PY'
import json, sys
runs = json.load(open(sys.argv[1]))["benchmarks"]
bad = [r["name"] + ": " + r.get("error_message", "") for r in runs if r.get("error_occurred")]
for must in sys.argv[2].split(","):
    if not any(r["name"] == must or r["name"].startswith(must + "/") for r in runs):
        bad.append(must + " did not run")
print(f"{len(runs)} benchmark runs")
if bad:
    print("\n".join(bad))
    sys.exit(1)
PY
