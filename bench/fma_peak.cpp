// Measures this machine's fp32 FMA peak: every OpenMP thread runs independent chains of
// vector FMAs (enough of them to hide the FMA latency), so the figure is what the cores can
// issue, the denominator of the model-FLOPs utilisation in bench/compare_torch.sh.
// With "bf16" it measures the AVX512_BF16 dot-product peak instead (vdpbf16ps: 32 bf16
// products summed pairwise into 16 fp32 lanes, 64 FLOPs per instruction), the ceiling of
// the bf16 matmuls.
// usage: fma_peak [seconds=1] [fp32|bf16]   (threads from OMP_NUM_THREADS)
#include <immintrin.h>
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>

namespace {

#if defined(__AVX512F__)
using Vec = __m512;
constexpr int kLanes = 16;
inline Vec fma(Vec a, Vec b, Vec c) { return _mm512_fmadd_ps(a, b, c); }
inline Vec splat(float x) { return _mm512_set1_ps(x); }
inline float first(Vec v) { return _mm512_cvtss_f32(v); }
#else
using Vec = __m256;
constexpr int kLanes = 8;
inline Vec fma(Vec a, Vec b, Vec c) { return _mm256_fmadd_ps(a, b, c); }
inline Vec splat(float x) { return _mm256_set1_ps(x); }
inline float first(Vec v) { return _mm256_cvtss_f32(v); }
#endif
constexpr int kChains = 12;  // > FMA latency × ports (4 × 2)

// Runs `iters` rounds of kChains FMAs; returns a value that depends on all of them.
float run(long iters, float seed) {
  Vec acc[kChains];
  for (int c = 0; c < kChains; ++c) acc[c] = splat(seed + float(c));
  const Vec a = splat(0.999999f), b = splat(1e-7f);
  for (long i = 0; i < iters; ++i)
    for (int c = 0; c < kChains; ++c) acc[c] = fma(acc[c], a, b);
  float s = 0;
  for (int c = 0; c < kChains; ++c) s += first(acc[c]);
  return s;
}

// The same chains with vdpbf16ps.
__attribute__((target("avx512f,avx512bf16"))) float run_bf16(long iters, float seed) {
  __m512 acc[kChains];
  for (int c = 0; c < kChains; ++c) acc[c] = _mm512_set1_ps(seed + float(c));
  const __m512bh a = _mm512_cvtne2ps_pbh(_mm512_set1_ps(0.5f), _mm512_set1_ps(0.5f));
  const __m512bh b = _mm512_cvtne2ps_pbh(_mm512_set1_ps(1e-7f), _mm512_set1_ps(1e-7f));
  for (long i = 0; i < iters; ++i)
    for (int c = 0; c < kChains; ++c) acc[c] = _mm512_dpbf16_ps(acc[c], a, b);
  float s = 0;
  for (int c = 0; c < kChains; ++c) s += _mm512_cvtss_f32(acc[c]);
  return s;
}

}  // namespace

int main(int argc, char** argv) {
  const double seconds = argc > 1 ? std::atof(argv[1]) : 1.0;
  if (argc > 2 && std::string(argv[2]) == "bf16") {
    if (!__builtin_cpu_supports("avx512bf16")) {
      std::printf("bf16 dot-product peak: n/a (no AVX512_BF16)\n");
      return 0;
    }
    const long iters = 20'000'000;
    double best = 0;
    float sink = 0;
    const auto t_end = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
    do {
      const auto t0 = std::chrono::steady_clock::now();
      int threads = 1;
#pragma omp parallel reduction(+ : sink)
      {
        threads = omp_get_num_threads();
        sink += run_bf16(iters, float(omp_get_thread_num()));
      }
      const double sec =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      best = std::max(best, 64.0 * kChains * double(iters) * threads / sec);
    } while (std::chrono::steady_clock::now() < t_end);
    std::printf("bf16 dot-product peak: %.1f GFLOP/s on %d threads%s\n", best * 1e-9,
                omp_get_max_threads(), sink == 12345.0f ? " " : "");
    return 0;
  }
  const long iters = 20'000'000;
  run(iters / 10, 1.0f);  // warm up the clocks
  double best = 0;
  float sink = 0;
  const auto t_end = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  do {  // best of several rounds: the machine is shared
    const auto t0 = std::chrono::steady_clock::now();
    int threads = 1;
#pragma omp parallel reduction(+ : sink)
    {
      threads = omp_get_num_threads();
      sink += run(iters, float(omp_get_thread_num()));
    }
    const double sec = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    const double flops = 2.0 * kLanes * kChains * double(iters) * threads;
    if (flops / sec > best) best = flops / sec;
  } while (std::chrono::steady_clock::now() < t_end);
  std::printf("fp32 FMA peak: %.1f GFLOP/s on %d threads (%d-lane vectors)%s\n", best * 1e-9,
              omp_get_max_threads(), kLanes, sink == 12345.0f ? " " : "");
  return 0;
}
