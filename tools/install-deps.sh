#!/usr/bin/env bash
# Installs the Debian packages gclab builds with, if any is missing, and the packages
# named as arguments (tools/fuzz.sh: clang-14); with
# GCLAB_MEMLAB_DIR set (tools/test.sh sets it), also node and npm, and memlab's heap-
# snapshot parser from npm into that folder (tests/memlab). Safe to run twice.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(
  bazel-bootstrap bazel-platforms bazel-rules-java   # Bazel 4.2.3, offline
  g++ python3
  libabsl-dev libgtest-dev libgmock-dev libbenchmark-dev
  libgc-dev                                          # Boehm GC, a baseline
  libmimalloc2.0                                     # mimalloc, a baseline (dlopen)
  "$@"
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# node and npm may come from Debian or from elsewhere (NodeSource): look for the commands.
if [[ -n "${GCLAB_MEMLAB_DIR:-}" ]]; then
  command -v node >/dev/null || missing+=(nodejs)
  command -v npm >/dev/null || missing+=(npm)
fi

if ((${#missing[@]} > 0)); then
  echo "gclab: installing ${missing[*]}" >&2
  sudo=""
  if [[ $(id -u) -ne 0 ]]; then sudo="sudo"; fi
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null ||
    { echo "gclab: could not install ${missing[*]}" >&2; exit 1; }
fi

# memlab, as tests/memlab/package-lock.json pins it; installed again when the lock
# changes. Its install scripts would download a browser, which the check does not use.
if [[ -n "${GCLAB_MEMLAB_DIR:-}" ]]; then
  dir=$GCLAB_MEMLAB_DIR
  if ! cmp -s tests/memlab/package-lock.json "$dir/package-lock.json" ||
     [[ ! -f "$dir/node_modules/@memlab/core/package.json" ]]; then
    echo "gclab: installing memlab (npm @memlab/core) into $dir" >&2
    rm -rf "$dir"
    mkdir -p "$dir"
    cp tests/memlab/package.json tests/memlab/package-lock.json "$dir/"
    (cd "$dir" && PUPPETEER_SKIP_DOWNLOAD=1 PUPPETEER_SKIP_CHROMIUM_DOWNLOAD=1 \
       npm ci --no-audit --no-fund --ignore-scripts --loglevel=error >/dev/null) || {
      rm -rf "$dir"
      echo "gclab: npm could not install memlab" >&2
      exit 1
    }
  fi
fi
