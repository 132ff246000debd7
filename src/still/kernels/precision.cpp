#include "still/kernels/precision.h"

#include "still/kernels/bf16.h"
#include "still/util/error.h"

namespace still {

std::string precision_name(Precision p) { return p == Precision::kBf16 ? "bf16" : "fp32"; }

Precision parse_precision(const std::string& name) {
  if (name == "fp32") return Precision::kFp32;
  if (name == "bf16") return Precision::kBf16;
  throw Error("unknown precision '" + name + "'; use fp32 or bf16");
}

void require_precision_supported(Precision p) {
  if (p != Precision::kBf16 || kernels::cpu_has_avx512_bf16()) return;
  throw Error("--precision bf16 needs a CPU with AVX512_BF16 (oneDNN runs at " +
              kernels::onednn_cpu_isa_name() + " here); use --precision fp32");
}

}  // namespace still
