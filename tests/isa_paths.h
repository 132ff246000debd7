// Runs a kernel test once per SIMD path (kernels/isa.h): AVX2, then AVX-512 where the CPU has
// it, against the same references. STILL_ISA is set to match, so `still` processes the test
// starts take the same path. Where it has not, KernelIsa.Avx512PathsRun
// (test_isa_paths.cpp) is the one skip that says the AVX-512 paths went untested.
#pragma once
#include <gtest/gtest.h>

#include <cstdlib>
#include <functional>
#include <string>

#include "still/kernels/isa.h"

namespace still::testing {

inline void for_each_kernel_isa(const std::function<void()>& body) {
  namespace k = kernels;
  struct Restore {
    k::Isa isa;
    const char* env;
    std::string value;
    ~Restore() {
      k::set_kernel_isa(isa);
      if (env)
        setenv("STILL_ISA", value.c_str(), 1);
      else
        unsetenv("STILL_ISA");
    }
  } restore{k::kernel_isa(), std::getenv("STILL_ISA"), ""};
  if (restore.env) restore.value = restore.env;
  for (k::Isa isa : {k::Isa::kAvx2, k::Isa::kAvx512}) {
    if (isa == k::Isa::kAvx512 && !k::cpu_has_avx512()) return;
    k::set_kernel_isa(isa);
    setenv("STILL_ISA", k::isa_name(isa), 1);
    SCOPED_TRACE(std::string("kernels: ") + k::isa_name(isa));
    body();
    if (::testing::Test::HasFatalFailure()) return;
  }
}

}  // namespace still::testing
