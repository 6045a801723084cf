#!/usr/bin/env bash
# The CMake build, as CI runs it: configures and builds the libraries, tests and
# benchmarks (CMakeLists.txt) against the Debian packages, runs the tests with ctest,
# installs the package into a scratch prefix, and builds and runs the example consumer
# (examples/cmake_consumer) from the installed files with find_package(gclab).
#
#   tools/cmake_test.sh               # build in ${GCLAB_CMAKE_BUILD:-build-cmake}
#
# Ends with "N passed, N failed": ctest's tests (one per test binary or shard, not per
# test case as tools/test.sh counts), plus one for the consumer, built and run from the
# installed package. Exits non-zero on any failure.
set -uo pipefail
cd "$(dirname "$0")/.."
export GCLAB_MEMLAB_DIR=${GCLAB_MEMLAB_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/gclab/memlab}
tools/install-deps.sh cmake || { echo "gclab: could not install the build dependencies" >&2; exit 2; }

build=${GCLAB_CMAKE_BUILD:-build-cmake}
prefix=$(mktemp -d)
consumer=$(mktemp -d)
trap 'rm -rf "$prefix" "$consumer"' EXIT
jobs=$(nproc)

fail() {
  echo "gclab: $1"
  echo "0 passed, 1 failed"
  exit 1
}
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DGCLAB_MEMLAB_DIR="$GCLAB_MEMLAB_DIR" \
  >/dev/null || fail "cmake could not configure the build"
build_log=$(mktemp)
if ! cmake --build "$build" -j "$jobs" >"$build_log" 2>&1; then
  grep -E -v '^\[ *[0-9]+%\]' "$build_log" | tail -40
  rm -f "$build_log"
  fail "the CMake build failed"
fi
rm -f "$build_log"

# Every test, with the largest at the sizes they take under sanitizers
# (tests/test_types.h, Reduced): this run proves the CMake build, and tools/test.sh runs
# the full sizes of the same sources and flags.
log=$(mktemp)
GCLAB_REDUCED_TESTS=1 ctest --test-dir "$build" -j "$jobs" --output-on-failure 2>&1 | tee "$log"
summary=$(grep -E '[0-9]+% tests passed, [0-9]+ tests failed out of [0-9]+' "$log")
rm -f "$log"
failed=$(sed -E 's/.* ([0-9]+) tests failed out of ([0-9]+).*/\1/' <<<"$summary")
total=$(sed -E 's/.* ([0-9]+) tests failed out of ([0-9]+).*/\2/' <<<"$summary")
if [[ -z "$summary" ]]; then failed=1 total=1; fi
passed=$((total - failed))

# The installed package, used as a consumer would.
if cmake --install "$build" --prefix "$prefix" >/dev/null &&
   cmake -S examples/cmake_consumer -B "$consumer" -DCMAKE_PREFIX_PATH="$prefix" >/dev/null &&
   cmake --build "$consumer" >/dev/null &&
   "$consumer/consumer"; then
  echo "the example consumer, built from the installed package: passed"
  passed=$((passed + 1))
else
  echo "the example consumer, built from the installed package: FAILED"
  failed=$((failed + 1))
fi
echo "${passed} passed, ${failed} failed"
[[ $failed -eq 0 ]]
