#!/usr/bin/env bash
# Installs the Debian packages gclab builds with, if any is missing. Safe to run twice.
set -euo pipefail

packages=(
  bazel-bootstrap bazel-platforms bazel-rules-java   # Bazel 4.2.3, offline
  g++ python3
  libabsl-dev libgtest-dev libgmock-dev libbenchmark-dev
  libgc-dev                                          # Boehm GC, a baseline
  libmimalloc2.0                                     # mimalloc, a baseline (dlopen)
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]} == 0)); then
  exit 0
fi

echo "gclab: installing ${missing[*]}" >&2
sudo=""
if [[ $(id -u) -ne 0 ]]; then sudo="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
