#!/usr/bin/env bash
# Regenerates the seven papers (papers/*.md) and their plots (papers/figures/*.png)
# from benchmark JSON. Installs Debian's python3-matplotlib if it is missing.
#
#   GCLAB_RUNS=3 tools/bench.sh      # measure: results/<date>-<host>/ (about 35 minutes)
#   papers/make.sh                   # the newest results folder
#   papers/make.sh results/20261121-091000-vm
#
# Every figure in the papers comes from that folder: medians over its runs, with ranges.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! /usr/bin/python3 -c "import matplotlib" 2>/dev/null; then
  echo "papers: installing python3-matplotlib" >&2
  sudo=""
  if [[ $(id -u) -ne 0 ]]; then sudo="sudo"; fi
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq --no-install-recommends python3-matplotlib >/dev/null
fi
dir="${1:-$(ls -d results/*/ 2>/dev/null | sort | tail -1)}"
if [[ -z "$dir" || ! -d "$dir" ]]; then
  echo "papers: no results folder; run 'GCLAB_RUNS=3 tools/bench.sh' first" >&2
  exit 1
fi
/usr/bin/python3 papers/make_papers.py "$dir"
