#!/usr/bin/env bash
# Does distillation beat plain training? Teacher on one split, its signal on a second, the
# student with KD and with its matched CE baseline (same tokens, steps, schedule) on that
# split, for two seeds, all evaluated on a third, held-out split. See docs/kd-vs-ce.md.
# TEACHER=train (default) trains the teacher by examples/demo/recipe.sh's command;
# TEACHER=shipped uses examples/demo/teacher (made by that recipe).
set -euo pipefail
cd "$(dirname "$0")/../.."
bash scripts/prepare_kjv.sh
S=build/still
OUT=${OUT:-runs/kd-vs-ce}
THREADS=${THREADS:-2}
$S split --data data/kjv.txt --out "$OUT/data" teacher=0.6 signal=0.3 heldout=0.1
if [ "${TEACHER:-train}" = shipped ]; then
  T=examples/demo/teacher
else
  $S train --data "$OUT/data/teacher.txt" --config examples/demo/teacher.json --steps 800 \
    --batch 8 --seq 256 --lr 3e-3 --warmup 40 --eval-every 200 --save-every 100 --seed 1 \
    --threads "$THREADS" --out "$OUT/teacher"
  T="$OUT/teacher"
fi
$S teach --teacher "$T" --data "$OUT/data/signal.txt" --top-k 32 --max-windows 400 \
  --threads "$THREADS" --out "$OUT/signal"
MODELS=()
for seed in 1 2; do
  $S distil --signal "$OUT/signal" --student examples/demo/student.json --loss fkl --alpha 0.9 \
    --baseline --steps 300 --batch 8 --lr 3e-3 --eval-every 50 --seed "$seed" \
    --threads "$THREADS" --out "$OUT/seed$seed"
  MODELS+=(--model "$OUT/seed$seed" --model "$OUT/seed$seed/baseline")
done
$S eval --make-suite "$OUT/data/heldout.txt" --suite "$OUT/heldout-suite.json"
$S eval --teacher "$T" "${MODELS[@]}" --suite "$OUT/heldout-suite.json" --limit 40 \
  --threads "$THREADS" --out "$OUT/eval.json"
$S report "$OUT/seed1" "$OUT/seed1/baseline" "$OUT/seed2" "$OUT/seed2/baseline" "$OUT/eval.json" \
  --out "$OUT/report"
