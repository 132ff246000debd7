// fast_exp (kernels/vexp.h) replaces expf in softmax, cross-entropy and SwiGLU: it must stay
// within a few ulp of exp over the whole range those use, and saturate instead of overflowing.
#include <gtest/gtest.h>

#include <cmath>

#include "still/kernels/vexp.h"

TEST(FastExp, WithinAFewUlpOfExpOverTheFloatRange) {
  double worst = 0;
  for (int i = 0; i <= 200000; ++i) {
    const float x = -87.0f + 175.3f * float(i) / 200000.0f;
    const double want = std::exp(double(x));
    const double rel = std::abs(double(still::kernels::fast_exp(x)) - want) / want;
    worst = std::max(worst, rel);
  }
  EXPECT_LT(worst, 4 * 6e-8);  // a few float ulp (2^-24 ≈ 6e-8)
  EXPECT_EQ(still::kernels::fast_exp(0.0f), 1.0f);
  EXPECT_LT(still::kernels::fast_exp(-1000.0f), 1e-37f);  // saturates at ~1e-38, never NaN
  EXPECT_GE(still::kernels::fast_exp(-1000.0f), 0.0f);
  EXPECT_TRUE(std::isfinite(still::kernels::fast_exp(1000.0f)));
}
