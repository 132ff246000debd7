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

bash scripts/prepare_kjv.sh
CORPUS=data/kjv.txt

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
