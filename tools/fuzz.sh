#!/usr/bin/env bash
# Fuzzes the heap with tests/fuzz/heap_fuzzer: programs of heap operations checked
# against a model of the heap (tests/fuzz/heap_program.h), built with clang, libFuzzer,
# ASan and UBSan.
#
#   tools/fuzz.sh            # 60 seconds
#   tools/fuzz.sh 600        # ten minutes
#
# It builds in its own Bazel output base (GCLAB_FUZZ_OUTPUT_BASE, default
# ~/.cache/gclab-fuzz-bazel/<hash of the checkout's path>), so the clang build never
# invalidates the usual one. The
# seed corpus tests/fuzz/corpus is copied to a temporary directory and grows there; the
# checked-in corpus is never written. Bazel runs under flock on GCLAB_BAZEL_LOCK
# (default /tmp/gclab-bazel.lock), so that builds sharing the machine take turns.
#
# Ends with a line "gclab fuzz: N executions in S s, ..." and exits non-zero on any
# crash, leak, timeout or divergence from the model, after printing how to reproduce
# it and how to keep it as a regression test.
set -uo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
if ! [[ $seconds =~ ^[0-9]+$ ]]; then
  echo "usage: tools/fuzz.sh [seconds]" >&2
  exit 2
fi

tools/install-deps.sh clang-14 libclang-rt-14-dev ||
  { echo "gclab: could not install the build dependencies" >&2; exit 2; }

# One output base per checkout, as Bazel keys its own by the workspace's path.
output_base="${GCLAB_FUZZ_OUTPUT_BASE:-$HOME/.cache/gclab-fuzz-bazel/$(pwd | md5sum | cut -c1-12)}"
lock="${GCLAB_BAZEL_LOCK:-/tmp/gclab-bazel.lock}"
# -o: the Bazel server that the first command starts must not inherit the lock's file
# descriptor, or it would hold the lock for as long as it lives and every later command
# here would wait for it forever. -w: a lock held by something else for half an hour is
# reported, not waited on.
fuzz_bazel() {
  flock -o -w 1800 -E 75 "$lock" bazel --output_base="$output_base" "$@"
  local rc=$?
  ((rc == 75)) && echo "gclab: gave up after waiting 30 min for $lock" >&2
  return $rc
}

fuzz_bazel build --config=fuzz //tests/fuzz:heap_fuzzer 2>&1 |
  grep -v -E '^(Loading|Analyzing|INFO: (From|Analyzed|Found))'
if ((PIPESTATUS[0] != 0)); then
  echo "gclab: building the fuzzer failed" >&2
  exit 2
fi
binary="$(fuzz_bazel info --config=fuzz bazel-bin 2>/dev/null)/tests/fuzz/heap_fuzzer"
if [[ ! -x $binary ]]; then
  echo "gclab: no fuzzer binary at $binary" >&2
  exit 2
fi

work=$(mktemp -d -t gclab-fuzz.XXXXXX)
mkdir -p "$work/corpus" "$work/artifacts"
cp tests/fuzz/corpus/* "$work/corpus/"
echo "gclab: fuzzing for ${seconds}s in $work" >&2
started=$SECONDS

ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}" \
UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}" \
timeout -k 30 $((seconds + 300)) \
  "$binary" -max_total_time="$seconds" -print_final_stats=1 -timeout=20 -rss_limit_mb=6144 \
  -artifact_prefix="$work/artifacts/" "$work/corpus" >"$work/fuzz.log" 2>&1
status=$?
# libFuzzer's last words, without its recommended dictionary.
grep -v -E '^("|###### |gclab fuzz totals)' "$work/fuzz.log" | tail -n 40

executions=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/fuzz.log" | tail -n 1)
elapsed=$((SECONDS - started))
corpus=$(ls "$work/corpus" | wc -l)
shopt -s nullglob
artifacts=("$work"/artifacts/*)
# The fuzzer's own totals (programs, operations, collections checked), printed at exit.
grep '^gclab fuzz totals' "$work/fuzz.log" | tail -n 1
echo "gclab fuzz: ${executions:-?} executions in $elapsed s, corpus of $corpus" \
  "inputs, ${#artifacts[@]} crash/leak/timeout files, fuzzer exit status $status"

if ((status != 0 || ${#artifacts[@]} > 0)); then
  echo >&2
  echo "gclab: the fuzzer found a problem (log: $work/fuzz.log)." >&2
  for a in "${artifacts[@]}"; do
    echo "  reproducer: $a" >&2
  done
  if ((${#artifacts[@]} > 0)); then
    a=${artifacts[0]}
    cat >&2 <<MSG
Rerun it:
  $binary $a
Minimise it:
  $binary -minimize_crash=1 -runs=20000 -exact_artifact_path=$work/minimized $a
Keep it as a regression test (runs in //tests/fuzz:regression_test), once the bug is
understood, with a name that says what it shows:
  cp $work/minimized tests/fuzz/regressions/<collector>-<what-breaks>
MSG
  fi
  exit 1
fi
rm -rf "$work"
