#!/usr/bin/env bash
# The main job, end to end: installs the Debian packages, builds, prepares a public-domain
# corpus (the King James Bible from Debian's bible-kjv, written to data/, never committed),
# runs `still demo` (teach -> distil + CE baseline -> eval -> report) with the shipped demo
# teacher, and samples from the student. Idempotent: a rerun reuses every finished stage.
# Knobs: STEPS (distil steps, default 300), WINDOWS (signal windows, 400), EVAL_DOCS (40),
# THREADS (default: every core), OUT (default runs/demo).
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh
bash scripts/build.sh

mkdir -p data
CORPUS=data/kjv.txt
if [ ! -s "$CORPUS" ]; then
  echo "demo: writing $CORPUS from Debian's bible-kjv"
  # `bible` prints each chapter as a "Book N" heading, a blank line, then numbered verses.
  # Keep the heading with its chapter and drop the verse numbers, so that every chapter is one
  # document (still train splits documents at blank lines).
  bible -l79 Gen1:1-Rev22:21 | awk '
    /^[1-3]? ?[A-Z][A-Za-z ]* [0-9]+$/ { print; heading = 1; next }
    /^[ \t]*$/ { if (heading) next; print; next }
    { heading = 0; sub(/^ +[0-9]+ /, ""); print }' > "$CORPUS.tmp"
  mv "$CORPUS.tmp" "$CORPUS"
fi

OUT=${OUT:-runs/demo}
THREADS_FLAG=()
[ -n "${THREADS:-}" ] && THREADS_FLAG=(--threads "$THREADS")
# The whole system on the bundled default: split the corpus, collect the shipped teacher's
# top-k signal, distil a 7x smaller student and its matched CE baseline, evaluate all three on
# held-out chapters, render the report. Rerunning resumes finished stages.
build/still demo --corpus "$CORPUS" --teacher examples/demo/teacher \
  --student examples/demo/student.json --steps "${STEPS:-300}" --max-windows "${WINDOWS:-400}" \
  --eval-limit "${EVAL_DOCS:-40}" "${THREADS_FLAG[@]}" --out "$OUT"

echo "demo: sampling from the distilled student"
build/still generate --model "$OUT/student" --prompt "And God said" --max-tokens 200 \
  --temperature 0.8 --top-k 40 --top-p 0.95 --seed 1
