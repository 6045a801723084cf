#!/usr/bin/env bash
# gclab's main job: the benchmark suites on every collector beside their baselines
# (Boehm GC, new/delete, a bare bump pointer; std::weak_ptr and absl::flat_hash_map
# for the weak suite; Boehm's finalizers for the finalization suite), printed as
# tables. Installs what it needs first. Google
# Benchmark's own flags go to both binaries; sizes are set by environment variables:
#
#   tools/bench.sh --benchmark_filter=GCBench
#   GCLAB_BINARY_TREES_DEPTH=16 GCLAB_NAIVE_CHAIN_SIZES=10000 tools/bench.sh   # quicker
#
# (GCLAB_CHAIN_SIZES, GCLAB_WHIPPET_LENGTH, GCLAB_WEAKMAP_KEYS, GCLAB_FINALIZERS: see
# benchmarks/README.md.)
#
# The JSON is kept in results/<date>-<host>/ for later comparison.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/install-deps.sh

if ! bazel build -c opt //benchmarks:gc_benchmarks //benchmarks:weak_benchmarks \
    //benchmarks:finalization_benchmarks >/tmp/gclab-build.log 2>&1; then
  cat /tmp/gclab-build.log >&2
  exit 1
fi
out="results/$(date +%Y%m%d-%H%M%S)-$(hostname -s)"
mkdir -p "$out"
for suite in gc_benchmarks weak_benchmarks finalization_benchmarks; do
  echo "=== $suite"
  "bazel-bin/benchmarks/$suite" --benchmark_out="$out/$suite.json" \
    --benchmark_out_format=json "$@"
done
for suite in gc_benchmarks weak_benchmarks finalization_benchmarks; do
  echo
  if grep -q '"run_name"' "$out/$suite.json"; then
    echo "=== $suite"
    python3 benchmarks/summarize.py "$out/$suite.json"
  else
    echo "=== $suite: no benchmark matched the filter"
  fi
done
echo
echo "JSON: $out/"
