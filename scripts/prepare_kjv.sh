#!/usr/bin/env bash
# Writes data/kjv.txt, the King James Bible from Debian's bible-kjv, one chapter per document
# (a "Book N" heading, then the verses; chapters separated by blank lines). Never committed.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p data
CORPUS=data/kjv.txt
if [ ! -s "$CORPUS" ]; then
  echo "prepare_kjv: writing $CORPUS from Debian's bible-kjv"
  bible -l79 Gen1:1-Rev22:21 | awk '
    /^[1-3]? ?[A-Z][A-Za-z ]* [0-9]+$/ { print; heading = 1; next }
    /^[ \t]*$/ { if (heading) next; print; next }
    { heading = 0; sub(/^ +[0-9]+ /, ""); print }' > "$CORPUS.tmp"
  mv "$CORPUS.tmp" "$CORPUS"
fi
