// Training precision: fp32 everywhere, or bf16 matmuls with fp32 master weights, fp32
// accumulation and fp32 gradients / optimizer state. Which one a linear layer runs is said by
// its LinearWeight (kernels/linear.h): bf16 packs present or not.
#pragma once
#include <string>

namespace still {

enum class Precision { kFp32, kBf16 };

std::string precision_name(Precision p);  // "fp32" | "bf16"
// Throws still::Error naming the accepted values.
Precision parse_precision(const std::string& name);
// Every CPU runs both; bf16 without AVX512_BF16 (or under STILL_ISA=avx2) takes the portable
// path and says so once (log_info).
void require_precision_supported(Precision p);

}  // namespace still
