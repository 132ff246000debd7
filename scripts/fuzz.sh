#!/usr/bin/env bash
# Builds the libFuzzer targets with clang (build-fuzz/) and runs each for SECONDS (default 20)
# from its seed corpus fuzz/corpus/NAME/ (plus fuzz/corpus/regressions/). New inputs go to a
# scratch corpus; a crash or any sanitizer report (build-fuzz/fuzz_NAME.log) fails the script;
# a crash leaves crash-* files under build-fuzz/artifacts/.
# Usage: scripts/fuzz.sh [SECONDS] [TARGET...]
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_EACH=${1:-20}
shift || true
BUILD=build-fuzz
cmake -S . -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_C_COMPILER=clang \
  -DCMAKE_CXX_COMPILER=clang++ -DSTILL_FUZZ=ON -DBUILD_TESTING=OFF >/dev/null
cmake --build "$BUILD" --target fuzzers -j "$(nproc)"
targets=("$@")
if ((${#targets[@]} == 0)); then
  for f in fuzz/fuzz_*.cpp; do targets+=("$(basename "$f" .cpp)"); done
fi
mkdir -p "$BUILD/artifacts"
# Any sanitizer report is a failure: UBSan stops at the first one (the build also has
# -fno-sanitize-recover=all) and the run's log is searched for reports as well, so a report
# that did not stop the fuzzer still fails the script.
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}
export ASAN_OPTIONS=${ASAN_OPTIONS:-halt_on_error=1}
for t in "${targets[@]}"; do
  name=${t#fuzz_}
  scratch="$BUILD/corpus/$name"
  mkdir -p "$scratch"
  seeds=()
  [ -d "fuzz/corpus/$name" ] && seeds+=("fuzz/corpus/$name")
  regressions=(fuzz/corpus/regressions/"$name"-*)
  if [ -e "${regressions[0]}" ]; then
    mkdir -p "$BUILD/regressions/$name"
    cp "${regressions[@]}" "$BUILD/regressions/$name/"
    seeds+=("$BUILD/regressions/$name")
  fi
  dict=()
  [ -f "fuzz/$name.dict" ] && dict=(-dict="fuzz/$name.dict")
  echo "fuzz: $t for ${SECONDS_EACH}s"
  log="$BUILD/$t.log"
  rc=0
  "$BUILD/$t" "$scratch" "${seeds[@]}" "${dict[@]}" -max_total_time="$SECONDS_EACH" \
    -max_len=65536 -rss_limit_mb=2048 -timeout=10 -artifact_prefix="$BUILD/artifacts/$t-" \
    -print_final_stats=1 >"$log" 2>&1 || rc=$?
  grep -E "^(#[0-9]+[[:space:]]+DONE|stat::number_of_executed_units|stat::peak_rss_mb|==[0-9]+==ERROR|SUMMARY|INFO: Seed)|runtime error:" "$log" || true
  if ls "$BUILD/artifacts/$t-"* >/dev/null 2>&1; then
    echo "fuzz: $t FOUND A CRASH: $(ls "$BUILD/artifacts/$t-"*)"
    exit 1
  fi
  if ((rc != 0)) || grep -qE "runtime error:|SUMMARY: [A-Za-z]+Sanitizer" "$log"; then
    echo "fuzz: $t: a sanitizer reported (exit $rc); see $log"
    exit 1
  fi
done
echo "fuzz: no crashes, no sanitizer reports"
