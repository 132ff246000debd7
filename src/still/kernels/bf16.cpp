#include "still/kernels/bf16.h"

#include <cpuid.h>
#include <immintrin.h>
#include <oneapi/dnnl/dnnl.h>

#include <algorithm>

#include "still/kernels/isa.h"
#include "still/kernels/parallel.h"

namespace still::kernels {

namespace {

bool cpuid_avx512_bf16() {
  unsigned a = 0, b = 0, c = 0, d = 0;
  if (!__get_cpuid_count(7, 1, &a, &b, &c, &d)) return false;
  const bool bf16 = (a >> 5) & 1u;  // CPUID.(EAX=7,ECX=1):EAX[5] = AVX512_BF16
  if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return false;
  const bool avx512f = (b >> 16) & 1u, avx512bw = (b >> 30) & 1u, avx512vl = (b >> 31) & 1u;
  if (!__get_cpuid(1, &a, &b, &c, &d) || !((c >> 27) & 1u)) return false;  // OSXSAVE
  unsigned lo = 0, hi = 0;
  __asm__("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
  const bool os_zmm = (lo & 0xe6u) == 0xe6u;  // the OS saves the AVX-512 state
  return bf16 && avx512f && avx512bw && avx512vl && os_zmm;
}

// The AVX512_BF16 path runs when the CPU has it and the kernels run AVX-512 (kernels/isa.h:
// STILL_ISA=avx2 forces the portable path, which gives the same bits).
bool vector_ok() {
  static const bool cpu = cpuid_avx512_bf16();
  return cpu && use_avx512();
}

__attribute__((target("avx512f,avx512bw,avx512vl,avx512bf16"))) void convert_avx512(
    const float* src, uint16_t* dst, int64_t n) {
  int64_t i = 0;
  for (; i + 32 <= n; i += 32) {
    const __m512 lo = _mm512_loadu_ps(src + i), hi = _mm512_loadu_ps(src + i + 16);
    _mm512_storeu_si512(dst + i, (__m512i)_mm512_cvtne2ps_pbh(hi, lo));
  }
  for (; i < n; i += 16) {
    const int64_t left = std::min<int64_t>(16, n - i);
    const __mmask16 m = __mmask16((1u << left) - 1u);
    const __m256bh h = _mm512_cvtneps_pbh(_mm512_maskz_loadu_ps(m, src + i));
    _mm256_mask_storeu_epi16(dst + i, m, (__m256i)h);
  }
}

// Rows k and k+1 of B at columns [n0, n0 + 16) (zeros outside the matrix), rounded and
// interleaved: (B[k][n0], B[k+1][n0], B[k][n0+1], ...), 64 bytes.
__attribute__((target("avx512f,avx512bw,avx512vl,avx512bf16"))) void pack_rows_avx512(
    const float* B, int64_t ldb, int64_t K, int64_t N, int64_t Kp, int64_t Np, int64_t nb,
    int64_t s0, int64_t s1, uint16_t* out) {
  alignas(64) static const uint16_t kInterleave[32] = {0,  16, 1,  17, 2,  18, 3,  19, 4,  20, 5,
                                                       21, 6,  22, 7,  23, 8,  24, 9,  25, 10, 26,
                                                       11, 27, 12, 28, 13, 29, 14, 30, 15, 31};
  const __m512i idx = _mm512_load_si512(kInterleave);
  const int64_t pairs = Kp / 2;
#pragma omp parallel for schedule(static) if (Kp * Np >= 4 * kParallelMinWork)
  for (int64_t kp = 0; kp < pairs; ++kp) {
    const int64_t k = 2 * kp;
    const float* r0 = k < K ? B + k * ldb : nullptr;
    const float* r1 = k + 1 < K ? B + (k + 1) * ldb : nullptr;
    uint16_t* row_out = out + (k / 32) * s0 + ((k % 32) / 2) * (2 * nb);
    for (int64_t n0 = 0; n0 < Np; n0 += 16) {
      const int64_t left = std::max<int64_t>(0, std::min<int64_t>(16, N - n0));
      const __mmask16 m = __mmask16((1u << left) - 1u);
      const __m512 a = r0 ? _mm512_maskz_loadu_ps(m, r0 + n0) : _mm512_setzero_ps();
      const __m512 b = r1 ? _mm512_maskz_loadu_ps(m, r1 + n0) : _mm512_setzero_ps();
      const __m512i v = _mm512_permutexvar_epi16(idx, (__m512i)_mm512_cvtne2ps_pbh(b, a));
      _mm512_storeu_si512(row_out + (n0 / nb) * s1 + (n0 % nb) * 2, v);
    }
  }
}

void convert(const float* src, uint16_t* dst, int64_t n) {
  if (vector_ok())
    convert_avx512(src, dst, n);
  else
    f32_to_bf16_scalar(src, dst, n);
}

}  // namespace

bool cpu_has_avx512_bf16() {
  const unsigned isa = unsigned(dnnl_get_effective_cpu_isa());
  const unsigned bf16_isa = unsigned(dnnl_cpu_isa_avx512_core_bf16);
  return vector_ok() && (isa & bf16_isa) == bf16_isa;
}

std::string onednn_cpu_isa_name() {
  switch (dnnl_get_effective_cpu_isa()) {
    case dnnl_cpu_isa_sse41:
      return "sse41";
    case dnnl_cpu_isa_avx:
      return "avx";
    case dnnl_cpu_isa_avx2:
      return "avx2";
    case dnnl_cpu_isa_avx512_mic:
      return "avx512_mic";
    case dnnl_cpu_isa_avx512_mic_4ops:
      return "avx512_mic_4ops";
    case dnnl_cpu_isa_avx512_core:
      return "avx512_core";
    case dnnl_cpu_isa_avx512_core_vnni:
      return "avx512_core_vnni";
    case dnnl_cpu_isa_avx512_core_bf16:
      return "avx512_core_bf16";
    case dnnl_cpu_isa_avx512_core_amx:
      return "avx512_core_amx";
    case dnnl_cpu_isa_avx2_vnni:
      return "avx2_vnni";
    default:
      return "isa " + std::to_string(int(dnnl_get_effective_cpu_isa()));
  }
}

void f32_to_bf16_scalar(const float* src, uint16_t* dst, int64_t n) {
  for (int64_t i = 0; i < n; ++i) dst[i] = f32_to_bf16_rne(src[i]);
}

void f32_to_bf16(const float* src, uint16_t* dst, int64_t n) {
  constexpr int64_t kBlock = 1 << 14;  // per-thread slices, multiples of the vector width
  const int64_t blocks = (n + kBlock - 1) / kBlock;
  if (n < 4 * kParallelMinWork) {
    convert(src, dst, n);
    return;
  }
#pragma omp parallel for schedule(static)
  for (int64_t b = 0; b < blocks; ++b) {
    const int64_t i0 = b * kBlock;
    convert(src + i0, dst + i0, std::min(kBlock, n - i0));
  }
}

bool pack_bf16_row_pairs(const float* B, int64_t ldb, int64_t K, int64_t N, int64_t Kp, int64_t Np,
                         int64_t nb, int64_t s0, int64_t s1, uint16_t* out) {
  if (!vector_ok()) return false;
  pack_rows_avx512(B, ldb, K, N, Kp, Np, nb, s0, s1, out);
  return true;
}

void f32_to_bf16_rows(const float* src, int64_t ld, uint16_t* dst, int64_t rows, int64_t cols) {
  if (ld == cols) {
    f32_to_bf16(src, dst, rows * cols);
    return;
  }
#pragma omp parallel for schedule(static) if (rows * cols >= 4 * kParallelMinWork)
  for (int64_t r = 0; r < rows; ++r) convert(src + r * ld, dst + r * cols, cols);
}

}  // namespace still::kernels
