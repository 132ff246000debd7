#include "still/kernels/rmsnorm.h"

#include <algorithm>
#include <cmath>

#include "still/kernels/isa.h"
#include "still/kernels/parallel.h"

#define STILL_SIMD_BODY "still/kernels/rmsnorm_simd.inc"
#include "still/kernels/per_isa.inc"

namespace still::kernels {

void rmsnorm_forward_strided(float* y, int64_t ld_y, float* rstd, const float* x, int64_t ld_x,
                             const float* w, int64_t tokens, int heads, int D, float eps) {
  STILL_DISPATCH(rmsnorm_forward_strided, y, ld_y, rstd, x, ld_x, w, tokens, heads, D, eps);
}

void rmsnorm_backward_strided(float* dx, int64_t ld_dx, float* dw, const float* dy, int64_t ld_dy,
                              const float* x, int64_t ld_x, const float* w, const float* rstd,
                              int64_t tokens, int heads, int D, bool accumulate_dx) {
  STILL_DISPATCH(rmsnorm_backward_strided, dx, ld_dx, dw, dy, ld_dy, x, ld_x, w, rstd, tokens,
                 heads, D, accumulate_dx);
}

void rmsnorm_forward(float* y, float* rstd, const float* x, const float* w, int64_t rows, int D,
                     float eps) {
  rmsnorm_forward_strided(y, D, rstd, x, D, w, rows, 1, D, eps);
}

void rmsnorm_backward(float* dx, float* dw, const float* dy, const float* x, const float* w,
                      const float* rstd, int64_t rows, int D, bool accumulate_dx) {
  rmsnorm_backward_strided(dx, D, dw, dy, D, x, D, w, rstd, rows, 1, D, accumulate_dx);
}

}  // namespace still::kernels
