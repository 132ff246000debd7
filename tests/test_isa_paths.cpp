// Runtime ISA dispatch (kernels/isa.h): the AVX-512 kernels exist on this CPU or the one skip
// says they went untested; STILL_ISA overrides the choice and `still version` reports it.
// The kernels themselves run on each path against their references in test_kernels.cpp,
// test_kd_loss.cpp, test_adamw.cpp, test_vexp.cpp and the bf16 tests (isa_paths.h).
#include <gtest/gtest.h>

#include <cmath>
#include <nlohmann/json.hpp>
#include <vector>

#include "skip.h"
#include "still/kernels/isa.h"
#include "still/kernels/vexp.h"
#include "still/util/error.h"
#include "test_helpers.h"

namespace still {
namespace {

namespace k = kernels;

// On a CPU without AVX-512 the binary never runs those paths (nothing is left untested for
// it): asking for them is refused and the AVX2 path stays in use. Where the CPU has both, the
// kernel tests run each path (tests/isa_paths.h).
TEST(KernelIsa, Avx512PathsRun) {
  if (!k::cpu_has_avx512()) {
    EXPECT_THROW(k::set_kernel_isa(k::Isa::kAvx512), Error);
    EXPECT_FALSE(k::use_avx512());
    RecordProperty("avx512", "absent: AVX2 paths only");
    return;
  }
  const k::Isa saved = k::kernel_isa();
  k::set_kernel_isa(k::Isa::kAvx512);
  EXPECT_TRUE(k::use_avx512());
  k::set_kernel_isa(k::Isa::kAvx2);
  EXPECT_FALSE(k::use_avx512());
  k::set_kernel_isa(saved);
}

TEST(KernelIsa, EnvironmentOverridesTheChoiceAndVersionReportsIt) {
  std::string out;
  ASSERT_EQ(run_command("STILL_ISA=avx2 " + still_bin() + " version --json", &out), 0) << out;
  auto j = nlohmann::json::parse(out);
  EXPECT_EQ(j["kernels"], "avx2");
  EXPECT_EQ(j["bf16"], "portable");  // STILL_ISA=avx2 forces the portable bf16 path too
  EXPECT_FALSE(j["cpu"].get<std::string>().empty());
  ASSERT_EQ(run_command("STILL_ISA= " + still_bin() + " version --json", &out), 0) << out;
  EXPECT_EQ(nlohmann::json::parse(out)["kernels"], k::cpu_has_avx512() ? "avx512" : "avx2");
  ASSERT_EQ(run_command("STILL_ISA=avx2 " + still_bin() + " version", &out), 0) << out;
  EXPECT_NE(out.find("kernels: avx2"), std::string::npos) << out;
  // A bad value is one line, before any command runs.
  EXPECT_EQ(run_command("STILL_ISA=sse2 " + still_bin() + " version", &out), 1);
  EXPECT_NE(out.find("STILL_ISA=sse2: expected avx2 or avx512"), std::string::npos) << out;
}

// fast_exp is inline: each path vectorises it in its own users. Here it is vectorised once per
// path directly and checked against exp with the bound test_vexp.cpp uses.
void exp_all_avx2(const float* x, float* y, int n) {
#pragma omp simd
  for (int i = 0; i < n; ++i) y[i] = k::fast_exp(x[i]);
}

STILL_AVX512_BEGIN
void exp_all_avx512(const float* x, float* y, int n) {
#pragma omp simd
  for (int i = 0; i < n; ++i) y[i] = k::fast_exp(x[i]);
}
STILL_AVX512_END

TEST(KernelIsa, VectorisedFastExpOnEachPath) {
  const int n = 200001;
  std::vector<float> x(static_cast<size_t>(n)), y(static_cast<size_t>(n));
  for (int i = 0; i < n; ++i) x[size_t(i)] = -87.0f + 175.3f * float(i) / float(n - 1);
  for (bool wide : {false, true}) {
    if (wide && !k::cpu_has_avx512()) return;  // KernelIsa.Avx512PathsRun says so
    (wide ? exp_all_avx512 : exp_all_avx2)(x.data(), y.data(), n);
    double worst = 0;
    for (int i = 0; i < n; ++i) {
      const double want = std::exp(double(x[size_t(i)]));
      worst = std::max(worst, std::abs(double(y[size_t(i)]) - want) / want);
    }
    EXPECT_LT(worst, 4 * 6e-8) << (wide ? "avx512" : "avx2");
  }
}

}  // namespace
}  // namespace still
