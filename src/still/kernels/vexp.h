// exp(x) for float loops that the compiler can vectorise (std::exp is a libm call per
// element). Range reduction x = n·ln2 + r, |r| <= ln2/2, then a degree-6 polynomial for e^r
// and 2^n built in the exponent bits: within a few ulp of expf on [-87, 88.3]. Larger x
// saturate at ~2e38; below -87.3 it gives ~1e-38 instead of 0 (harmless next to the 1-sized
// terms of a softmax sum); NaN is not propagated. Pure arithmetic: same bits on any thread.
#pragma once
#include <bit>
#include <cstdint>

namespace still::kernels {

inline float fast_exp(float x) {
  x = x < -87.3f ? -87.3f : x;  // ternaries, not std::fmin/fmax: those stay libm calls
  x = x > 88.3f ? 88.3f : x;  // keeps 2^n finite (n <= 127)
  // Round to nearest by adding and subtracting 1.5·2^23 (floorf would stay a libm call).
  constexpr float kRound = 12582912.0f;
  const float n = (x * 1.44269504088896341f + kRound) - kRound;
  float r = x - n * 0.693359375f;  // ln2 split in two: exact high part, small low part
  r = r + n * 2.12194440e-4f;
  const float z = r * r;
  float y = 1.9875691500e-4f;
  y = y * r + 1.3981999507e-3f;
  y = y * r + 8.3334519073e-3f;
  y = y * r + 4.1665795894e-2f;
  y = y * r + 1.6666665459e-1f;
  y = y * r + 5.0000001201e-1f;
  y = y * z + r + 1.0f;
  const int32_t bits = (int32_t(n) + 127) << 23;
  return y * std::bit_cast<float>(bits);
}

}  // namespace still::kernels
