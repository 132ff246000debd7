#include "still/kernels/swiglu.h"

#include <cmath>

#include "still/kernels/parallel.h"
#include "still/kernels/vexp.h"

namespace still::kernels {

void swiglu_forward(float* h, const float* gate, const float* up, int64_t n) {
#pragma omp parallel for simd schedule(static) if (n >= kParallelMinWork)
  for (int64_t i = 0; i < n; ++i) {
    const float g = gate[i];
    h[i] = g / (1.0f + fast_exp(-g)) * up[i];
  }
}

void swiglu_backward(float* dgate, float* dup, const float* dh, const float* gate, const float* up,
                     int64_t n) {
#pragma omp parallel for simd schedule(static) if (n >= kParallelMinWork)
  for (int64_t i = 0; i < n; ++i) {
    const float g = gate[i];
    const float sig = 1.0f / (1.0f + fast_exp(-g));
    const float silu = g * sig;
    dup[i] = dh[i] * silu;
    dgate[i] = dh[i] * up[i] * sig * (1.0f + g * (1.0f - sig));
  }
}

}  // namespace still::kernels
