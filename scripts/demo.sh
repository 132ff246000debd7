#!/usr/bin/env bash
# The main job, end to end (until the distillation demo exists): installs the Debian packages,
# builds, prepares a public-domain corpus (the King James Bible from Debian's bible-kjv,
# written to data/, never committed), trains a small byte-level model for a few minutes on
# the CPU, and generates text from it. Idempotent: a second run reuses the corpus and the
# finished run (rerunning `still train` with the same --out resumes or does nothing).
# Knobs: STEPS (default 400), THREADS (default: every core), OUT (default runs/demo).
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

# A small byte-level Llama: 4 layers of width 128 (about 0.8M parameters).
MODEL=data/demo-model.json
cat > "$MODEL.tmp" <<'JSON'
{"dim": 128, "n_layers": 4, "n_heads": 4, "n_kv_heads": 2, "ffn_dim": 344,
 "vocab_size": 256, "max_seq": 256, "tied_embeddings": true}
JSON
cmp -s "$MODEL.tmp" "$MODEL" 2>/dev/null && rm "$MODEL.tmp" || mv "$MODEL.tmp" "$MODEL"

OUT=${OUT:-runs/demo}
THREADS_FLAG=()
[ -n "${THREADS:-}" ] && THREADS_FLAG=(--threads "$THREADS")
build/still train --data "$CORPUS" --config "$MODEL" --seq 256 --batch 8 \
  --steps "${STEPS:-400}" --lr 3e-3 --warmup 20 --eval-every 100 --save-every 100 --seed 1 \
  "${THREADS_FLAG[@]}" --out "$OUT"

echo "demo: sampling from $OUT"
build/still generate --model "$OUT" --prompt "And God said" --max-tokens 240 \
  --temperature 0.8 --top-k 40 --top-p 0.95 --seed 1
