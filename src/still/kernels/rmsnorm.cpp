#include "still/kernels/rmsnorm.h"

#include <algorithm>
#include <cmath>

#include "still/kernels/parallel.h"

namespace still::kernels {

void rmsnorm_forward(float* y, float* rstd, const float* x, const float* w, int64_t rows, int D,
                     float eps) {
#pragma omp parallel for schedule(static) if (rows * D >= kParallelMinWork)
  for (int64_t r = 0; r < rows; ++r) {
    const float* xr = x + r * D;
    float* yr = y + r * D;
    double ss = 0;  // double: the sum of squares is the precision-critical part, and cheap
    for (int i = 0; i < D; ++i) ss += double(xr[i]) * xr[i];
    const float s = float(1.0 / std::sqrt(ss / D + double(eps)));
    rstd[r] = s;
    for (int i = 0; i < D; ++i) yr[i] = xr[i] * s * w[i];
  }
}

void rmsnorm_backward(float* dx, float* dw, const float* dy, const float* x, const float* w,
                      const float* rstd, int64_t rows, int D, bool accumulate_dx) {
  // dx_i = s·(w_i·dy_i − x_i·s²·mean_j(w_j·dy_j·x_j)),  s = rstd.
#pragma omp parallel for schedule(static) if (rows * D >= kParallelMinWork)
  for (int64_t r = 0; r < rows; ++r) {
    const float* xr = x + r * D;
    const float* dyr = dy + r * D;
    float* dxr = dx + r * D;
    const double s = rstd[r];
    double dot = 0;
    for (int i = 0; i < D; ++i) dot += double(w[i]) * dyr[i] * xr[i];
    const double c = s * s * dot / D;
    for (int i = 0; i < D; ++i) {
      float g = float(s * (double(w[i]) * dyr[i] - xr[i] * c));
      dxr[i] = accumulate_dx ? dxr[i] + g : g;
    }
  }
  // dw_i = Σ_rows dy_i·x_i·s: partitioned over columns, rows summed in order.
  constexpr int kCols = 64;
  const int blocks = (D + kCols - 1) / kCols;
#pragma omp parallel for schedule(static) if (rows * D >= kParallelMinWork)
  for (int blk = 0; blk < blocks; ++blk) {
    const int i0 = blk * kCols, i1 = std::min(D, i0 + kCols);
    double acc[kCols] = {};
    for (int64_t r = 0; r < rows; ++r) {
      const float* xr = x + r * D;
      const float* dyr = dy + r * D;
      const double s = rstd[r];
      for (int i = i0; i < i1; ++i) acc[i - i0] += double(dyr[i]) * xr[i] * s;
    }
    for (int i = i0; i < i1; ++i) dw[i] += float(acc[i - i0]);
  }
}

}  // namespace still::kernels
