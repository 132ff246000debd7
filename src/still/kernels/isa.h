// Which SIMD path the hot kernels run (issue #11). The binary is built for x86-64-v3 (AVX2 +
// FMA); each hot kernel is compiled a second time for AVX-512 (STILL_AVX512_BEGIN/END around
// an include of its body) and its public function picks one at run time. The choice is the
// CPU's best unless the environment variable STILL_ISA=avx2|avx512 (read once) or
// set_kernel_isa() overrides it; tests and benchmarks use the override to run both paths.
#pragma once
#include <string>

namespace still::kernels {

enum class Isa { kAvx2, kAvx512 };

// True when this CPU and OS run AVX-512 F/BW/DQ/VL code (x86-64-v4).
bool cpu_has_avx512();
// True when it also runs AVX512_BF16 (vcvtne2ps2bf16, vdpbf16ps).
bool cpu_has_avx512bf16_isa();
// The path the kernels take now.
Isa kernel_isa();
// Forces a path (throws still::Error when the CPU cannot run it). Not thread-safe: call it
// between kernel calls, as tests and benchmarks do.
void set_kernel_isa(Isa isa);
// "avx2" or "avx512".
const char* isa_name(Isa isa);
// The CPU's model name (from /proc/cpuinfo), or "unknown".
std::string cpu_model_name();

inline bool use_avx512() { return kernel_isa() == Isa::kAvx512; }

}  // namespace still::kernels

// Everything between these compiles for x86-64-v4 with 512-bit vectors, as -march=native did
// on an AVX-512 CPU. Put them after all #includes, so that inline functions from headers keep
// the baseline ISA (the linker may pick any copy of those).
// clang-format off
#if defined(__clang__)
#define STILL_AVX512_BEGIN _Pragma("clang attribute push(__attribute__((target(\"avx512f,avx512bw,avx512dq,avx512vl\"))), apply_to = function)")
#define STILL_AVX512_END _Pragma("clang attribute pop")
#else
#define STILL_AVX512_BEGIN \
  _Pragma("GCC push_options") _Pragma("GCC target(\"arch=x86-64-v4,prefer-vector-width=512\")")
#define STILL_AVX512_END _Pragma("GCC pop_options")
#endif
// clang-format on

// Calls NS::fn(args) for the ISA in use, NS = still::kernels::avx512 or ::avx2.
#define STILL_DISPATCH(fn, ...)                                               \
  (::still::kernels::use_avx512() ? ::still::kernels::avx512::fn(__VA_ARGS__) \
                                  : ::still::kernels::avx2::fn(__VA_ARGS__))
