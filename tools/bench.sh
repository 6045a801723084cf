#!/usr/bin/env bash
# gclab's main job: the benchmark suite on every collector beside its baselines
# (Boehm GC, new/delete, a bare bump pointer), printed as a table. Installs what it
# needs first. Extra arguments go to the benchmark binary, e.g.
#
#   tools/bench.sh --benchmark_filter=GCBench
#   tools/bench.sh --binary_trees_depth=16          # quicker
#
# The JSON is kept in results/<date>-<host>/ for later comparison.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/install-deps.sh

bazel build -c opt //benchmarks:gc_benchmarks 2>&1 | grep -E '^(ERROR|FAIL)' && exit 1
out="results/$(date +%Y%m%d-%H%M%S)-$(hostname -s)"
mkdir -p "$out"
bazel-bin/benchmarks/gc_benchmarks --benchmark_out="$out/gc_benchmarks.json" \
  --benchmark_out_format=json "$@"
echo
python3 benchmarks/summarize.py "$out/gc_benchmarks.json"
echo
echo "JSON: $out/gc_benchmarks.json"
