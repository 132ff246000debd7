#include "still/kernels/swiglu.h"

#include <algorithm>
#include <cmath>

#include "still/kernels/parallel.h"
#include "still/kernels/vexp.h"

namespace still::kernels {

namespace {

inline void forward_span(float* h, const float* gate, const float* up, int64_t n) {
#pragma omp simd
  for (int64_t i = 0; i < n; ++i) {
    const float g = gate[i];
    h[i] = g / (1.0f + fast_exp(-g)) * up[i];
  }
}

inline void backward_span(float* dgate, float* dup, const float* dh, const float* gate,
                          const float* up, int64_t n) {
#pragma omp simd
  for (int64_t i = 0; i < n; ++i) {
    const float g = gate[i];
    const float sig = 1.0f / (1.0f + fast_exp(-g));
    const float silu = g * sig;
    dup[i] = dh[i] * silu;
    dgate[i] = dh[i] * up[i] * sig * (1.0f + g * (1.0f - sig));
  }
}

constexpr int64_t kSpan = 4096;  // elements per parallel work item of the flat versions

}  // namespace

void swiglu_forward(float* h, const float* gate, const float* up, int64_t n) {
  const int64_t spans = (n + kSpan - 1) / kSpan;
#pragma omp parallel for schedule(static) if (n >= kParallelMinWork)
  for (int64_t s = 0; s < spans; ++s) {
    const int64_t i0 = s * kSpan, m = std::min(kSpan, n - i0);
    forward_span(h + i0, gate + i0, up + i0, m);
  }
}

void swiglu_backward(float* dgate, float* dup, const float* dh, const float* gate, const float* up,
                     int64_t n) {
  const int64_t spans = (n + kSpan - 1) / kSpan;
#pragma omp parallel for schedule(static) if (n >= kParallelMinWork)
  for (int64_t s = 0; s < spans; ++s) {
    const int64_t i0 = s * kSpan, m = std::min(kSpan, n - i0);
    backward_span(dgate + i0, dup + i0, dh + i0, gate + i0, up + i0, m);
  }
}

void swiglu_forward_packed(float* h, const float* gu, int64_t rows, int64_t F) {
#pragma omp parallel for schedule(static) if (rows * F >= kParallelMinWork)
  for (int64_t r = 0; r < rows; ++r) forward_span(h + r * F, gu + r * 2 * F, gu + r * 2 * F + F, F);
}

void swiglu_backward_packed(float* dgu, const float* dh, const float* gu, int64_t rows, int64_t F) {
#pragma omp parallel for schedule(static) if (rows * F >= kParallelMinWork)
  for (int64_t r = 0; r < rows; ++r)
    backward_span(dgu + r * 2 * F, dgu + r * 2 * F + F, dh + r * F, gu + r * 2 * F,
                  gu + r * 2 * F + F, F);
}

}  // namespace still::kernels
