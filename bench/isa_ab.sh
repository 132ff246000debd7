#!/usr/bin/env bash
# Interleaved A/B of the engine and KD steps: an older build (BEFORE, e.g. a -march=native
# binary of the base commit), this build on its default kernels, and this build forced to
# AVX2 (STILL_ISA=avx2). Alternating runs, so the load of a shared machine hits all three.
# usage: bench/isa_ab.sh BEFORE_DIR [BUILD_DIR=build] [ROUNDS=3]
set -euo pipefail
cd "$(dirname "$0")/.."
BEFORE=$1 BUILD=${2:-build} ROUNDS=${3:-3}
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-2} OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-passive}
echo "cpu: $(lscpu | sed -n 's/^Model name: *//p'); $("$BUILD/still" version | tail -1)"
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
runs=("before:$BEFORE" "after:$BUILD" "after-avx2:$BUILD")
for ((i = 1; i <= ROUNDS; i++)); do
  for r in "${runs[@]}"; do
    name=${r%%:*} dir=${r#*:} env=()
    [ "$name" = after-avx2 ] && env=(STILL_ISA=avx2)
    for args in "stories15m 8 256 2 fp32" "small 4 512 2 fp32" "stories15m 8 256 2 bf16"; do
      echo "$i $name engine_step $args: $(env "${env[@]}" "$dir/engine_step" $args | head -1)"
    done
    echo "$i $name kd_step stories15m 8 256 64 2: $(env "${env[@]}" "$dir/kd_step" stories15m 8 256 64 2 | head -1)"
  done
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
