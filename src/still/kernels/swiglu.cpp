#include "still/kernels/swiglu.h"

#include <algorithm>
#include <cmath>

#include "still/kernels/isa.h"
#include "still/kernels/parallel.h"
#include "still/kernels/vexp.h"

#define STILL_SIMD_BODY "still/kernels/swiglu_simd.inc"
#include "still/kernels/per_isa.inc"

namespace still::kernels {

void swiglu_forward(float* h, const float* gate, const float* up, int64_t n) {
  STILL_DISPATCH(swiglu_forward, h, gate, up, n);
}

void swiglu_backward(float* dgate, float* dup, const float* dh, const float* gate, const float* up,
                     int64_t n) {
  STILL_DISPATCH(swiglu_backward, dgate, dup, dh, gate, up, n);
}

void swiglu_forward_packed(float* h, const float* gu, int64_t rows, int64_t F) {
  STILL_DISPATCH(swiglu_forward_packed, h, gu, rows, F);
}

void swiglu_backward_packed(float* dgu, const float* dh, const float* gu, int64_t rows, int64_t F) {
  STILL_DISPATCH(swiglu_backward_packed, dgu, dh, gu, rows, F);
}

}  // namespace still::kernels
