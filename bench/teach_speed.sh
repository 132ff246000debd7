#!/usr/bin/env bash
# `still teach` speed and memory with an f32 teacher and a Q8_0 teacher of the same model, on
# the same corpus, in one command: tokens/s of each, their ratio, the teacher's resident
# weight bytes (as still accounts them) and the process's peak RSS (/usr/bin/time -v).
# The teacher is the preset with random weights (1 training step, for the files), exported
# by `still export` as f32 and as q8_0 GGUF; speed does not depend on what the weights are.
# usage: bench/teach_speed.sh [preset=small] [windows=32] [window_tokens=256]
#        (THREADS=2, BUILD=build, WORK=a temp dir)
set -euo pipefail
cd "$(dirname "$0")/.."
PRESET=${1:-small}
WINDOWS=${2:-32}
T=${3:-256}
THREADS=${THREADS:-2}
BUILD=${BUILD:-build}
S="$(pwd)/$BUILD/still"
export OMP_NUM_THREADS=$THREADS OMP_WAIT_POLICY=passive
WORK=${WORK:-$(mktemp -d)}
mkdir -p "$WORK"
trap '[ -z "${KEEP:-}" ] && rm -rf "$WORK"' EXIT

# A corpus of plain English-like documents, enough for WINDOWS windows of T bytes.
awk -v n=$(( WINDOWS * T / 200 + 10 )) 'BEGIN { srand(5);
  split("the a cat dog river stone tree sun house farmer sees likes finds follows feeds old small", w);
  for (d = 0; d < n; d++) { s = ""; for (i = 0; i < 40; i++) s = s w[int(rand() * 17) + 1] " ";
    print s "."; print "" } }' > "$WORK/corpus.txt"

"$S" -q train --data "$WORK/corpus.txt" --config "$PRESET" --steps 1 --batch 1 --seq 64 \
  --eval-every 0 --save-every 0 --threads "$THREADS" --out "$WORK/run" > /dev/null
for dt in f32 q8_0; do
  "$S" -q export --model "$WORK/run" --format gguf --dtype $dt --out "$WORK/$dt.gguf" > /dev/null
done

echo "teach speed: preset $PRESET, $WINDOWS windows x $T tokens, $THREADS threads;" \
  "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
run() {  # name gguf [flags] -> "tokens/s weight_bytes weights peak_rss_kib"
  rm -rf "$WORK/sig-$1"
  /usr/bin/time -v -o "$WORK/time-$1" "$S" -q teach --teacher "$WORK/$2.gguf" ${3:-} \
    --tokenizer bytes --data "$WORK/corpus.txt" --window "$T" --batch 8 --max-windows "$WINDOWS" \
    --top-k 64 --threads "$THREADS" --out "$WORK/sig-$1" --json > "$WORK/out-$1.json"
  python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); print(j["tokens_per_second"], j["teacher_weight_bytes"], j["teacher_weights"])' "$WORK/out-$1.json" |
    tr '\n' ' '
  sed -nE 's/.*Maximum resident set size \(kbytes\): ([0-9]+)/\1/p' "$WORK/time-$1"
}
# f32 GGUF; the Q8_0 GGUF kept quantized; the Q8_0 GGUF decoded to f32 at load (same weights
# as the quantized run, so their signals must be identical).
f=$(run f32 f32)
q=$(run q8 q8_0)
d=$(run q8deq q8_0 --dequantize)
echo "$f" "$q" "$d" | awk '{
  printf "f32 GGUF teacher:                %8.1f tokens/s, weights %7.1f MiB (%s), peak RSS %7.1f MiB\n", $1, $2 / 1048576, $3, $4 / 1024
  printf "Q8_0 GGUF teacher, kept Q8_0:    %8.1f tokens/s, weights %7.1f MiB (%s), peak RSS %7.1f MiB\n", $5, $6 / 1048576, $7, $8 / 1024
  printf "Q8_0 GGUF teacher, --dequantize: %8.1f tokens/s, weights %7.1f MiB (%s), peak RSS %7.1f MiB\n", $9, $10 / 1048576, $11, $12 / 1024
  printf "Q8_0 kept / f32: speed %.3f, weight bytes %.3f, peak RSS %.3f\n", $5 / $1, $6 / $2, $8 / $4 }'
same=yes
for f in "$WORK"/sig-q8/shard-*.sig; do cmp -s "$f" "$WORK/sig-q8deq/$(basename "$f")" || same=no; done
echo "signal of the kept-Q8_0 teacher identical to the dequantized one: $same"
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
