#include "still/kernels/rope.h"

#include <cmath>

#include "still/kernels/isa.h"
#include "still/kernels/parallel.h"
#include "still/util/error.h"

#define STILL_SIMD_BODY "still/kernels/rope_simd.inc"
#include "still/kernels/per_isa.inc"

namespace still::kernels {

std::vector<double> rope_inv_freq(int head_dim, double theta, const RopeScaling& s) {
  const int half = head_dim / 2;
  std::vector<double> f(static_cast<size_t>(half));
  for (int i = 0; i < half; ++i) f[size_t(i)] = std::pow(theta, -2.0 * i / head_dim);
  if (s.type == "default") return f;
  require(s.factor > 0, "rope_scaling: factor must be positive");
  if (s.type == "linear") {
    for (auto& x : f) x /= s.factor;
    return f;
  }
  if (s.type == "llama3") {
    require(s.high_freq_factor > s.low_freq_factor && s.low_freq_factor > 0,
            "rope_scaling: llama3 needs 0 < low_freq_factor < high_freq_factor");
    const double low_wavelen = s.original_max_positions / s.low_freq_factor;
    const double high_wavelen = s.original_max_positions / s.high_freq_factor;
    for (auto& x : f) {
      const double wavelen = 2.0 * M_PI / x;
      if (wavelen > low_wavelen) {
        x /= s.factor;  // long wavelengths: fully interpolated
      } else if (wavelen >= high_wavelen) {
        const double smooth = (s.original_max_positions / wavelen - s.low_freq_factor) /
                              (s.high_freq_factor - s.low_freq_factor);
        x = (1.0 - smooth) * x / s.factor + smooth * x;
      }  // short wavelengths: unchanged
    }
    return f;
  }
  throw Error("rope_scaling type '" + s.type +
              "' is not supported (supported: default, linear, llama3)");
}

void rope_tables(const std::vector<double>& inv_freq, int64_t pos0, int64_t n_pos, float* cos,
                 float* sin) {
  const int64_t half = int64_t(inv_freq.size());
#pragma omp parallel for schedule(static) if (n_pos * half >= kParallelMinWork / 16)
  for (int64_t p = 0; p < n_pos; ++p)
    for (int64_t i = 0; i < half; ++i) {
      const double a = double(pos0 + p) * inv_freq[size_t(i)];
      cos[p * half + i] = float(std::cos(a));
      sin[p * half + i] = float(std::sin(a));
    }
}

void rope_forward(float* x, const int32_t* positions, int64_t n_tokens, int n_heads, int head_dim,
                  const float* cos, const float* sin, int64_t ld) {
  STILL_DISPATCH(rope_apply, x, positions, n_tokens, n_heads, head_dim, cos, sin, 1.0f, ld);
}

void rope_backward(float* dx, const int32_t* positions, int64_t n_tokens, int n_heads, int head_dim,
                   const float* cos, const float* sin, int64_t ld) {
  STILL_DISPATCH(rope_apply, dx, positions, n_tokens, n_heads, head_dim, cos, sin, -1.0f, ld);
}

}  // namespace still::kernels
