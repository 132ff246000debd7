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

}  // namespace still::kernels
