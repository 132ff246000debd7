#include "still/kernels/precision.h"

#include "still/kernels/bf16.h"
#include "still/util/error.h"
#include "still/util/log.h"

namespace still {

std::string precision_name(Precision p) { return p == Precision::kBf16 ? "bf16" : "fp32"; }

Precision parse_precision(const std::string& name) {
  if (name == "fp32") return Precision::kFp32;
  if (name == "bf16") return Precision::kBf16;
  throw Error("unknown precision '" + name + "'; use fp32 or bf16");
}

void require_precision_supported(Precision p) {
  // bf16 runs everywhere: without AVX512_BF16 on the portable path (same rounding, slower).
  if (p != Precision::kBf16 || kernels::cpu_has_avx512_bf16()) return;
  static bool said = false;
  if (!said)
    log_info(
        "note: --precision bf16 takes its portable path here (no AVX512_BF16, or "
        "STILL_ISA=avx2): the same rounding, slower");
  said = true;
}

}  // namespace still
