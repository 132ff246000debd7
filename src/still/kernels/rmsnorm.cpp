#include "still/kernels/rmsnorm.h"

#include <algorithm>
#include <cmath>

#include "still/kernels/parallel.h"

namespace still::kernels {

namespace {

// Offset of row r (= token·heads + head) in a buffer of token stride ld.
inline int64_t row_at(int64_t r, int heads, int D, int64_t ld) {
  return heads == 1 ? r * ld : (r / heads) * ld + (r % heads) * int64_t(D);
}

}  // namespace

void rmsnorm_forward_strided(float* y, int64_t ld_y, float* rstd, const float* x, int64_t ld_x,
                             const float* w, int64_t tokens, int heads, int D, float eps) {
  const int64_t rows = tokens * heads;
#pragma omp parallel for schedule(static) if (rows * D >= kParallelMinWork)
  for (int64_t r = 0; r < rows; ++r) {
    const float* xr = x + row_at(r, heads, D, ld_x);
    float* yr = y + row_at(r, heads, D, ld_y);
    // double: the sum of squares is the precision-critical part. `omp simd` sums it in
    // vector lanes (a fixed order for a given build) instead of one latency-bound chain.
    double ss = 0;
#pragma omp simd reduction(+ : ss)
    for (int i = 0; i < D; ++i) ss += double(xr[i]) * xr[i];
    const float s = float(1.0 / std::sqrt(ss / D + double(eps)));
    rstd[r] = s;
#pragma omp simd
    for (int i = 0; i < D; ++i) yr[i] = xr[i] * s * w[i];
  }
}

void rmsnorm_backward_strided(float* dx, int64_t ld_dx, float* dw, const float* dy, int64_t ld_dy,
                              const float* x, int64_t ld_x, const float* w, const float* rstd,
                              int64_t tokens, int heads, int D, bool accumulate_dx) {
  const int64_t rows = tokens * heads;
  // dw_i = Σ_rows dy_i·x_i·s: partitioned over columns, rows summed in order. First, so that
  // dx may overwrite dy afterwards.
  constexpr int kCols = 64;
  const int blocks = (D + kCols - 1) / kCols;
#pragma omp parallel for schedule(static) if (rows * D >= kParallelMinWork)
  for (int blk = 0; blk < blocks; ++blk) {
    const int i0 = blk * kCols, i1 = std::min(D, i0 + kCols);
    double acc[kCols] = {};
    for (int64_t r = 0; r < rows; ++r) {
      const float* xr = x + row_at(r, heads, D, ld_x);
      const float* dyr = dy + row_at(r, heads, D, ld_dy);
      const double s = rstd[r];
#pragma omp simd
      for (int i = i0; i < i1; ++i) acc[i - i0] += double(dyr[i]) * xr[i] * s;
    }
    for (int i = i0; i < i1; ++i) dw[i] += float(acc[i - i0]);
  }
  // dx_i = s·(w_i·dy_i − x_i·s²·mean_j(w_j·dy_j·x_j)),  s = rstd.
#pragma omp parallel for schedule(static) if (rows * D >= kParallelMinWork)
  for (int64_t r = 0; r < rows; ++r) {
    const float* xr = x + row_at(r, heads, D, ld_x);
    const float* dyr = dy + row_at(r, heads, D, ld_dy);
    float* dxr = dx + row_at(r, heads, D, ld_dx);
    const double s = rstd[r];
    double dot = 0;
#pragma omp simd reduction(+ : dot)
    for (int i = 0; i < D; ++i) dot += double(w[i]) * dyr[i] * xr[i];
    const double c = s * s * dot / D;
#pragma omp simd
    for (int i = 0; i < D; ++i) {
      float g = float(s * (double(w[i]) * dyr[i] - xr[i] * c));
      dxr[i] = accumulate_dx ? dxr[i] + g : g;
    }
  }
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
