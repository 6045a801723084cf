#!/usr/bin/env bash
# Rewrites the README's table of collectors from the registry (tools/collectors_table.h).
# Run it after adding a collector folder; tests/readme_test.cc fails until it is run.
set -euo pipefail
cd "$(dirname "$0")/.."
table=$(bazel run --ui_event_filters=-info,-stdout,-stderr --noshow_progress \
        //tools:collectors_table)
python3 - "$table" <<'PY'
import sys
begin = "<!-- collectors: generated from the registry by tools/update_readme.sh -->"
end = "<!-- end of collectors -->"
text = open("README.md").read()
head, rest = text.split(begin, 1)
_, tail = rest.split(end, 1)
open("README.md", "w").write(head + begin + "\n" + sys.argv[1].rstrip("\n") + "\n" + end + tail)
PY
echo "README.md: table of collectors updated"
