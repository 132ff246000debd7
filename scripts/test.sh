#!/usr/bin/env bash
# Builds still and runs the whole test suite (GoogleTest through ctest).
# STILL_STRICT_SKIPS=1 (CI sets it): a test that would skip for want of a reference, shared
# data or a CPU feature fails instead (tests/skip.h), and any skip left in the log fails here.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build}
scripts/build.sh "$@"
ctest --test-dir "$BUILD_DIR" --output-on-failure -j "$(nproc)" --timeout 900
if [ "${STILL_STRICT_SKIPS:-0}" != 0 ]; then
  log="$BUILD_DIR/Testing/Temporary/LastTest.log"
  if grep -q '\[  SKIPPED \]' "$log"; then
    echo "test: STILL_STRICT_SKIPS=1 but tests were skipped:" >&2
    grep '\[  SKIPPED \]' "$log" | sort -u >&2
    exit 1
  fi
fi
