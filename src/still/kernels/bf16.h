// fp32 -> bf16 conversion for the bf16 training path (issue #7): round to nearest even,
// vectorised with AVX512_BF16 (vcvtneps2bf16) where the CPU has it, with a scalar fallback
// that gives the same bits (denormals flush to signed zero, as the instruction does).
#pragma once
#include <cstdint>
#include <string>

namespace still::kernels {

// True when this CPU executes AVX512_BF16 instructions (cpuid) and oneDNN dispatches its
// bf16 kernels to them (ONEDNN_MAX_CPU_ISA may lower that).
bool cpu_has_avx512_bf16();
// oneDNN's effective ISA in words (e.g. "avx512_core_bf16"), for error messages.
std::string onednn_cpu_isa_name();

// One value, as the vector path converts it.
inline uint16_t f32_to_bf16_rne(float f) {
  uint32_t u;
  __builtin_memcpy(&u, &f, 4);
  if ((u & 0x7fffffffu) > 0x7f800000u) return uint16_t((u >> 16) | 0x40);  // quiet NaN
  if ((u & 0x7f800000u) == 0) return uint16_t((u >> 16) & 0x8000);         // ±0, denormals
  u += 0x7fffu + ((u >> 16) & 1u);
  return uint16_t(u >> 16);
}

// dst[i] = bf16(src[i]), i < n; parallel (static partition) when n is large.
void f32_to_bf16(const float* src, uint16_t* dst, int64_t n);
// The scalar path alone (tests compare the two).
void f32_to_bf16_scalar(const float* src, uint16_t* dst, int64_t n);
// rows × cols from a matrix with row stride ld into a dense [rows, cols] bf16 matrix.
void f32_to_bf16_rows(const float* src, int64_t ld, uint16_t* dst, int64_t rows, int64_t cols);

// Packs the fp32 matrix B[K,N] (row stride ldb) as bf16 in the blocked layout oneDNN's bf16
// matmul reads its weights in ("BA16a<nb>b2a": blocks of 32 rows × nb columns, inside a block
// pairs of rows interleaved per column; block (k/32, n/nb) at k/32·s0 + n/nb·s1 elements),
// zero-padded to [Kp, Np] (multiples of 32 and nb). Returns false, writing nothing, when the
// CPU lacks AVX512_BF16.
bool pack_bf16_row_pairs(const float* B, int64_t ldb, int64_t K, int64_t N, int64_t Kp, int64_t Np,
                         int64_t nb, int64_t s0, int64_t s1, uint16_t* out);

}  // namespace still::kernels
