#!/usr/bin/env bash
# Installs what the llama.cpp interop tests use, outside the repository (idempotent, fast when
# done): node-llama-cpp 3.21.1 (prebuilt llama.cpp binaries) into $STILL_CACHE/npm, the llama.cpp
# headers from the source bundle that package ships, and a small tool built against its libllama
# that runs llama.cpp's quantizer (tests/llamacpp/quantize.c).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
CACHE="${STILL_CACHE:-$HOME/.cache/still}"
NPM_DIR="$CACHE/npm"
PKG="$NPM_DIR/node_modules/node-llama-cpp"
if ! command -v npm >/dev/null; then
  echo "setup_llamacpp: installing nodejs and npm"
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO=sudo
  $SUDO apt-get update -q
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends nodejs npm
fi
if [ ! -f "$PKG/package.json" ] || ! grep -q '"version": "3.21.1"' "$PKG/package.json"; then
  echo "setup_llamacpp: installing node-llama-cpp@3.21.1 into $NPM_DIR"
  mkdir -p "$NPM_DIR"
  npm i -E node-llama-cpp@3.21.1 --prefix "$NPM_DIR" --no-audit --no-fund --loglevel=error
fi
SRC="$CACHE/llama.cpp-src"
if [ ! -f "$SRC/include/llama.h" ]; then
  rm -rf "$SRC"
  git clone -q "$PKG/llama/gitRelease.bundle" "$SRC" 2>/dev/null
fi
BINS="$NPM_DIR/node_modules/@node-llama-cpp/linux-x64/bins/linux-x64"
LIB=$(ls "$BINS"/libllama.*so | head -1)
TOOL="$CACHE/llamacpp-tools/still-llama-quantize"
if [ ! -x "$TOOL" ] || [ "$ROOT/tests/llamacpp/quantize.c" -nt "$TOOL" ]; then
  mkdir -p "$(dirname "$TOOL")"
  cc -O1 -I"$SRC/include" -I"$SRC/ggml/include" "$ROOT/tests/llamacpp/quantize.c" \
    "$LIB" -Wl,-rpath,"$BINS" -o "$TOOL"
fi
echo "setup_llamacpp: ready ($PKG, $TOOL)"
