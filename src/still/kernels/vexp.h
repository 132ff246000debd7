// exp(x) for float loops that the compiler can vectorise (std::exp is a libm call per
// element). Range reduction x = n·ln2 + r, |r| <= ln2/2, then a degree-6 polynomial for e^r
// and 2^n built in the exponent bits: within ~2 ulp of expf for x in [-87, 88]. Inputs below
// -87.3 give ~1e-38 instead of 0 (harmless next to the 1-sized terms of a softmax sum);
// NaN is not propagated. Pure arithmetic, so the same bits for any thread count.
#pragma once
#include <bit>
#include <cmath>
#include <cstdint>

namespace still::kernels {

#pragma omp declare simd notinbranch
inline float fast_exp(float x) {
  x = std::fmin(std::fmax(x, -87.3f), 88.7f);
  const float n = std::floor(x * 1.44269504088896341f + 0.5f);
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
