// Element types that still stores and loads.
#pragma once
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>

namespace still {

enum class DType { kF32, kF16, kBF16, kF64, kI32, kI64, kU8, kI8, kU16, kU32, kU64 };

size_t dtype_size(DType t);
std::string dtype_name(DType t);  // safetensors spelling: "F32", "BF16", ...
// Returns false for an unknown name.
bool dtype_from_name(const std::string& name, DType* out);

inline float bf16_to_f32(uint16_t h) {
  uint32_t u = uint32_t(h) << 16;
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}
// Round to nearest even; NaN stays NaN.
inline uint16_t f32_to_bf16(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  if ((u & 0x7fffffffu) > 0x7f800000u) return uint16_t((u >> 16) | 0x40);
  u += 0x7fffu + ((u >> 16) & 1u);
  return uint16_t(u >> 16);
}
float f16_to_f32(uint16_t h);
uint16_t f32_to_f16(float f);

}  // namespace still
