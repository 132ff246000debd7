#!/usr/bin/env bash
# Trains the same Llama for the same tokens with still (build/engine_step) and with our
# PyTorch model (bench/torch_llama_step.py, Debian's /usr/bin/python3), both on THREADS
# threads, and prints tokens/s, the ratio and the model-FLOPs utilisation of each against
# this machine's fp32 FMA peak (build/fma_peak). A step is forward + loss + backward + AdamW.
# FLOPs per token (one formula for both): 6·N (N = matmul parameters, LM head included,
# embedding lookup not) + 12·L·q_dim·T (attention scores and values, full square as in PaLM).
# PyTorch runs twice: tuned (OpenMP OpenBLAS, tcmalloc, AVX-512 ATen, no OPENBLAS_* limits:
# issue #7) and out of the box (this machine's environment, as still runs).
# bf16 rows: still --precision bf16 (bf16 matmuls, fp32 master weights) against PyTorch's
# bf16 autocast (--bf16), tuned and default; MFU still against the fp32 peak (issue #7).
# usage: bench/compare_torch.sh [presets="stories15m small"] [steps=3]
#        (THREADS=2, BUILD=build, PRECISIONS="fp32 bf16", PYTHON=/usr/bin/python3)
# A row whose still or PyTorch run fails (e.g. bf16 on a CPU without AVX512_BF16) prints one
# line saying why and the script goes on with the other rows.
set -euo pipefail
cd "$(dirname "$0")/.."
PRESETS=${1:-"stories15m small"}
STEPS=${2:-3}
THREADS=${THREADS:-2}
PRECISIONS=${PRECISIONS:-"fp32 bf16"}
BUILD=${BUILD:-build}
PYTHON=${PYTHON:-/usr/bin/python3}
LIB=/usr/lib/x86_64-linux-gnu
export OMP_NUM_THREADS=$THREADS

peak=$("$BUILD/fma_peak" 2 | sed -E 's/.*peak: ([0-9.]+) GFLOP.*/\1/')
echo "fp32 FMA peak: $peak GFLOP/s on $THREADS threads; load: $(cut -d' ' -f1-3 /proc/loadavg)"
peak16=0
if [[ " $PRECISIONS " == *" bf16 "* ]]; then
  peak16=$("$BUILD/fma_peak" 2 bf16 2>/dev/null | sed -nE 's/.*peak: ([0-9.]+) GFLOP.*/\1/p' || true)
  echo "bf16 dot-product peak: ${peak16:-n/a} GFLOP/s (bf16 rows: still's MFU against it too)"
fi

tuned_env=(env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE ATEN_CPU_CAPABILITY=avx512)
[ -e "$LIB/libtcmalloc_minimal.so.4" ] && tuned_env+=(LD_PRELOAD="$LIB/libtcmalloc_minimal.so.4")
[ -d "$LIB/openblas-openmp" ] && tuned_env+=(LD_LIBRARY_PATH="$LIB/openblas-openmp")

tps() { sed -nE '1s/.* ([0-9.]+) tokens\/s.*/\1/p'; }

# Runs a step benchmark and prints its tokens/s. On failure (or no tokens/s line) prints
# nothing, leaves the last line it wrote in $whyfile and returns 1, so `set -e` does not end
# the script with no line at all. (It runs in $(...): a variable would not come back.)
whyfile=$(mktemp)
trap 'rm -f "$whyfile" "$whyfile.err"' EXIT
measure() {
  local out rate
  if out=$("$@" 2>"$whyfile.err") && rate=$(tps <<<"$out") && [ -n "$rate" ]; then
    echo "$rate"
    return 0
  fi
  { echo "$out"; cat "$whyfile.err"; } | grep -v '^[[:space:]]*$' | tail -n 1 >"$whyfile" || true
  return 1
}
why() { cat "$whyfile"; }
cpu_has_bf16() { grep -qw avx512_bf16 /proc/cpuinfo; }

for preset in $PRESETS; do
  case $preset in
    stories15m) B=8 T=256 D=288 L=6 F=768 V=32000 ;;
    small) B=4 T=512 D=512 L=8 F=1376 V=8192 ;;
    *) echo "unknown preset $preset" >&2; exit 1 ;;
  esac
  fpt=$(( 6 * (L * (4 * D * D + 3 * D * F) + V * D) + 12 * L * D * T ))
  for prec in $PRECISIONS; do
    torch_flag=(); [ "$prec" = bf16 ] && torch_flag=(--bf16)
    if ! s=$(measure "$BUILD/engine_step" "$preset" "$B" "$T" "$STEPS" "$prec"); then
      note=""
      [ "$prec" = bf16 ] && ! cpu_has_bf16 && note=" (this CPU has no AVX512_BF16)"
      echo "$preset B=$B T=$T $prec: skipped: still's $prec step failed$note: $(why)"
      continue
    fi
    t=$(measure "${tuned_env[@]}" "$PYTHON" bench/torch_llama_step.py "$preset" "$B" "$T" \
        "$STEPS" "${torch_flag[@]}") || { echo "  torch tuned failed: $(why)"; t=0; }
    o=$(measure "$PYTHON" bench/torch_llama_step.py "$preset" "$B" "$T" "$STEPS" \
        "${torch_flag[@]}") || { echo "  torch default failed: $(why)"; o=0; }
    awk -v p="$preset" -v B="$B" -v T="$T" -v s="$s" -v t="$t" -v o="$o" -v f="$fpt" -v pk="$peak" \
      -v prec="$prec" -v pk16="${peak16:-0}" \
      'function mfu(x) { return 100 * x * f / (pk * 1e9) }
       BEGIN { m16 = (prec == "bf16" && pk16 > 0) ? sprintf(", %.1f%% of bf16 peak", 100 * s * f / (pk16 * 1e9)) : ""
               printf "%s B=%d T=%d %s: still %.0f tok/s (MFU %.1f%%%s) | torch tuned %.0f (%.1f%%) | torch default %.0f (%.1f%%) | still/tuned %.2fx, still/default %.2fx\n",
               p, B, T, prec, s, mfu(s), m16, t, mfu(t), o, mfu(o), (t > 0 ? s / t : 0), (o > 0 ? s / o : 0) }'
  done
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
