// Element encodings of stored weights and their conversion to and from f32: F32, F16, BF16
// and llama.cpp's block formats Q8_0 (32 int8 + an f16 scale) and Q4_0 (32 4-bit + an f16
// scale). Loading dequantizes; export can quantize to Q8_0 (and Q4_0 for tests).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "still/formats/gguf.h"

namespace still {

constexpr int64_t kQuantBlock = 32;  // elements per Q8_0 / Q4_0 block

// True when dequantize() handles this type.
bool can_dequantize(GgmlType t);
// Decodes n elements (a multiple of the block size for block types) from src into dst.
// Throws still::Error for a type it cannot decode, naming `what`.
void dequantize(GgmlType t, const uint8_t* src, float* dst, int64_t n, const std::string& what);

// Encodes n floats (n a multiple of 32 for Q8_0 / Q4_0) in type t: F32, F16, BF16, Q8_0, Q4_0.
std::vector<uint8_t> quantize(GgmlType t, const float* src, int64_t n);

// Largest absolute error one element may carry after quantize → dequantize, relative to the
// largest magnitude in its block (used by tests and by export's summary).
double quant_relative_error_bound(GgmlType t);

}  // namespace still
