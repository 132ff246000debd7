#!/usr/bin/env bash
# How the shipped demo teacher (examples/demo/teacher) was made. Run from the repository root
# after `bash scripts/demo.sh` has written data/kjv.txt. The teacher trains on the "teacher"
# part of the demo's split only; the demo distils on the "signal" part and evaluates on the
# "heldout" part, which the teacher never saw.
set -euo pipefail
build/still split --data data/kjv.txt --out runs/demo/data teacher=0.6 signal=0.3 heldout=0.1
build/still train --data runs/demo/data/teacher.txt --config examples/demo/teacher.json \
  --steps 800 --batch 8 --seq 256 --lr 3e-3 --warmup 40 --eval-every 200 --save-every 50 \
  --seed 1 --threads 2 --out runs/demo-teacher
# The shipped weights are this run's final checkpoint (step 800, held-out 1.330 nats/byte on
# the teacher split's held-out documents), exported in bf16. (The shipped run was resumed once,
# at step 200, across an engine update, so a rerun gives an equivalent teacher, not the same
# bits; see training-state.json and training-manifest.json beside the weights.)
build/still export --model runs/demo-teacher/checkpoints/step-0000800 --format hf --dtype bf16 \
  --out examples/demo/teacher
