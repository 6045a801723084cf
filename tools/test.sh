#!/usr/bin/env bash
# Runs every gclab test, after installing what the build needs.
#
#   tools/test.sh                    # the suite, optimised build
#   tools/test.sh --config=asan      # under AddressSanitizer (plus gclab's debug checks)
#   tools/test.sh --config=ubsan     # under UndefinedBehaviorSanitizer (likewise)
#   tools/test.sh --config=debug     # debug build: internal checks, verifier every cycle
#
# Ends with the line "N passed, N failed" (test cases, counted from the test.xml files
# Bazel writes) and exits non-zero if any test failed.
set -uo pipefail
cd "$(dirname "$0")/.."
# memlab (npm), for tests/memlab: installed here, outside the repository.
export GCLAB_MEMLAB_DIR=${GCLAB_MEMLAB_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/gclab/memlab}
tools/install-deps.sh || { echo "gclab: could not install the build dependencies" >&2; exit 2; }

bazel test --test_env=GCLAB_MEMLAB_DIR="$GCLAB_MEMLAB_DIR" "$@" //... 2>&1 | grep -v -E '^(Loading|Analyzing|INFO: (From|Analyzed|Found))'
bazel_status=${PIPESTATUS[0]}

targets=$(bazel query 'tests(//...)' 2>/dev/null)
python3 - "$bazel_status" $targets <<'PY'
import glob, os, sys, xml.etree.ElementTree as ET
status, targets = int(sys.argv[1]), sys.argv[2:]
passed = failed = 0
for t in targets:
    logs = os.path.join("bazel-testlogs", t.lstrip("/").replace(":", "/"))
    # A sharded test (shard_count in its BUILD rule) writes one file per shard.
    paths = sorted(glob.glob(os.path.join(logs, "shard_*_of_*", "test.xml")))
    if not paths:
        paths = [os.path.join(logs, "test.xml")]
    try:
        roots = [ET.parse(path).getroot() for path in paths]
    except (OSError, ET.ParseError):
        print(f"gclab: no test results for {t}", file=sys.stderr)
        failed += 1
        continue
    cases = [case for root in roots for case in root.iter("testcase")]
    n = 0
    for case in cases:
        n += 1
        if case.find("failure") is not None or case.find("error") is not None:
            failed += 1
        elif case.get("result") == "skipped" or case.find("skipped") is not None:
            pass
        else:
            passed += 1
    if n == 0:  # a target that crashed before gtest wrote its XML
        failed += 1
print(f"{passed} passed, {failed} failed")
sys.exit(1 if failed or status else 0)
PY
