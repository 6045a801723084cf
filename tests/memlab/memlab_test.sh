#!/usr/bin/env bash
# Writes the seed's forgotten global as heap snapshots, one pair per collector, and
# reads them with memlab (check_snapshot.js).
#
#   memlab_test.sh [FORGOTTEN_GLOBAL CHECK_SNAPSHOT_JS] memlab is an npm package: tools/test.sh
# installs it (tools/install-deps.sh) and passes its folder as GCLAB_MEMLAB_DIR.
set -euo pipefail
if [[ -z "${GCLAB_MEMLAB_DIR:-}" || ! -f "${GCLAB_MEMLAB_DIR}/node_modules/@memlab/core/package.json" ]]; then
  echo "memlab_test: memlab is not installed where GCLAB_MEMLAB_DIR says (\"${GCLAB_MEMLAB_DIR:-}\");" \
       "run the tests with tools/test.sh, which installs it" >&2
  exit 1
fi
# Bazel finds both in the runfiles; the CMake build passes them.
here="${TEST_SRCDIR:-}/${TEST_WORKSPACE:-}/tests/memlab"
program=${1:-${here}/forgotten_global}
check=${2:-${here}/check_snapshot.js}
"${program}" "${TEST_TMPDIR}" > "${TEST_TMPDIR}/files.txt"
mapfile -t files < "${TEST_TMPDIR}/files.txt"
NODE_PATH="${GCLAB_MEMLAB_DIR}/node_modules" node "${check}" "${files[@]}"
