#include "still/kernels/isa.h"

#include <cstdlib>
#include <cstring>
#include <fstream>

#include "still/util/error.h"

namespace still::kernels {

namespace {

Isa from_env() {
  const char* e = std::getenv("STILL_ISA");
  if (!e || !*e) return cpu_has_avx512() ? Isa::kAvx512 : Isa::kAvx2;
  if (std::strcmp(e, "avx2") == 0) return Isa::kAvx2;
  if (std::strcmp(e, "avx512") == 0) {
    if (!cpu_has_avx512()) throw Error("STILL_ISA=avx512: this CPU has no AVX-512");
    return Isa::kAvx512;
  }
  throw Error(std::string("STILL_ISA=") + e + ": expected avx2 or avx512");
}

Isa& current() {
  static Isa isa = from_env();
  return isa;
}

}  // namespace

bool cpu_has_avx512() {
  static const bool ok = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                         __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl");
  return ok;
}

bool cpu_has_avx512bf16_isa() {
  static const bool ok = cpu_has_avx512() && __builtin_cpu_supports("avx512bf16");
  return ok;
}

Isa kernel_isa() { return current(); }

void set_kernel_isa(Isa isa) {
  if (isa == Isa::kAvx512 && !cpu_has_avx512())
    throw Error("the AVX-512 kernels need a CPU with AVX-512");
  current() = isa;
}

const char* isa_name(Isa isa) { return isa == Isa::kAvx512 ? "avx512" : "avx2"; }

std::string cpu_model_name() {
  std::ifstream in("/proc/cpuinfo");
  for (std::string line; std::getline(in, line);)
    if (line.rfind("model name", 0) == 0) {
      const size_t c = line.find(':');
      if (c != std::string::npos && c + 2 <= line.size()) return line.substr(c + 2);
    }
  return "unknown";
}

}  // namespace still::kernels
