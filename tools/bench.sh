#!/usr/bin/env bash
# gclab's main job: the benchmark suites on every collector beside their baselines,
# printed as tables. Installs what it needs first.
#
#   tools/bench.sh reclamation      # the main job: linear-memory reclamation (~1 min)
#   tools/bench.sh                  # every suite: reclamation, gc, weak, finalization
#   tools/bench.sh gc weak          # some suites
#   tools/bench.sh gc --benchmark_filter=GCBench     # Google Benchmark's flags follow
#   GCLAB_BINARY_TREES_DEPTH=16 GCLAB_NAIVE_CHAIN_SIZES=10000 tools/bench.sh   # quicker
#   tools/bench.sh heapsize         # the heap-size sweep (benchmarks/heap_sweep.py, about
#                                   # 40 minutes; not part of "every suite"): minimum
#                                   # heaps, time-space curves, MemBalancer vs growth
#
# Baselines: Boehm GC, new/delete, mimalloc (linked, in its own process) and a bare bump
# pointer (gc); std::weak_ptr and absl::flat_hash_map (weak); Boehm's finalizers
# (finalization); the manual-free ideal, munmap at the moment of the drop (reclamation).
# Sizes are set by environment variables (GCLAB_RECLAIM_SIZES_MIB, GCLAB_CHAIN_SIZES,
# GCLAB_WHIPPET_LENGTH, GCLAB_WEAKMAP_KEYS, GCLAB_FINALIZERS, GCLAB_QUADS_DEPTH...: see
# benchmarks/README.md), collector options by GCLAB_COLLECTOR_OPTIONS
# (GCLAB_COLLECTOR_OPTIONS=nursery-max=4M tools/bench.sh gc).
#
# GCLAB_RUNS=3 tools/bench.sh runs every suite three times (tables show medians and
# ranges; the papers want three). The JSON, one file per suite and run, and a
# description of the machine are kept in results/<date>-<host>/; `papers/make.sh`
# turns the newest such folder into the papers.
#
#   tools/bench.sh --trace gc       # also a Chrome trace of every collection of each
#                                   # suite's run beside its JSON (<suite>_trace-<run>.json,
#                                   # GCLAB_TRACE_FILE, gc/gc_events.h): open it in
#                                   # ui.perfetto.dev. Writing it slows the run: figures
#                                   # come from runs without it.
set -euo pipefail
cd "$(dirname "$0")/.."
trace=0
args=()
for a in "$@"; do
  if [[ "$a" == --trace ]]; then trace=1; else args+=("$a"); fi
done
set -- ${args[@]+"${args[@]}"}
tools/install-deps.sh

suites=()
while [[ $# -gt 0 && "$1" != -* ]]; do
  case "$1" in
    reclamation|gc|weak|finalization|heapsize) suites+=("$1") ;;
    *) echo "bench.sh: unknown suite '$1' (reclamation, gc, weak, finalization, heapsize)" >&2; exit 2 ;;
  esac
  shift
done
if [[ ${#suites[@]} -eq 0 ]]; then suites=(reclamation gc weak finalization); fi

targets=()
for s in "${suites[@]}"; do
  if [[ "$s" == heapsize ]]; then targets+=("//benchmarks:gc_benchmarks"); else targets+=("//benchmarks:${s}_benchmarks"); fi
done
if ! bazel build -c opt "${targets[@]}" >/tmp/gclab-build.log 2>&1; then
  cat /tmp/gclab-build.log >&2
  exit 1
fi
runs="${GCLAB_RUNS:-1}"
if ! [[ "$runs" =~ ^[1-9][0-9]*$ ]]; then
  echo "bench.sh: GCLAB_RUNS must be a positive integer, got '$runs'" >&2
  exit 2
fi
out="results/$(date +%Y%m%d-%H%M%S)-$(hostname -s)"
mkdir -p "$out"
{
  echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "host: $(hostname -s)"
  echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
  echo "cores: $(nproc)"
  echo "memory: $(awk '/MemTotal/ {printf "%.1f GiB", $2 / 1048576}' /proc/meminfo)"
  echo "kernel: $(uname -r)"
  echo "os: $(. /etc/os-release && echo "$PRETTY_NAME")"
  echo "compiler: $(g++ --version | head -1)"
  echo "gclab: $(git rev-parse --short HEAD 2>/dev/null || echo unknown)$(git diff --quiet 2>/dev/null || echo ' (modified)')"
  echo "runs: $runs"
  if [[ $trace == 1 ]]; then
    echo "traced: yes (GCLAB_TRACE_FILE; times include writing the trace)"
  fi
} > "$out/machine.txt"
for ((run = 1; run <= runs; run++)); do
  for s in "${suites[@]}"; do
    if [[ "$s" == heapsize ]]; then
      # Its own runs (--runs): once, on the first round.
      if [[ $run == 1 ]]; then
        echo "=== heap-size sweep (benchmarks/heap_sweep.py, $runs run(s) per point)"
        python3 benchmarks/heap_sweep.py "$out" --runs "$runs"
      fi
      continue
    fi
    echo "=== ${s}_benchmarks, run $run of $runs"   # Google Benchmark prints a line per benchmark
    if [[ $trace == 1 ]]; then
      export GCLAB_TRACE_FILE="$out/${s}_trace-$run.json"
    fi
    "bazel-bin/benchmarks/${s}_benchmarks" --benchmark_out="$out/${s}_benchmarks-$run.json" \
      --benchmark_out_format=json "$@"
  done
done
for s in "${suites[@]}"; do
  echo
  if [[ "$s" == heapsize ]]; then
    echo "=== heap-size sweep: $out/heapsize_sweep.json (papers/make.sh $out writes paper 7)"
    continue
  fi
  files=("$out/${s}_benchmarks"-*.json)
  if ! grep -q '"run_name"' "${files[0]}"; then
    echo "=== ${s}_benchmarks: no benchmark matched the filter"
  elif [[ "$s" == reclamation ]]; then
    echo "=== ${s}_benchmarks"
    python3 benchmarks/reclamation_table.py "${files[@]}"
  else
    echo "=== ${s}_benchmarks"
    python3 benchmarks/summarize.py "${files[@]}"
  fi
done
echo
echo "JSON: $out/"
