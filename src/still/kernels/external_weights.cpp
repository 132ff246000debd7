#include "still/kernels/external_weights.h"

#include <omp.h>

#include <algorithm>
#include <cstdlib>
#include <vector>

#include "still/kernels/matmul.h"
#include "still/util/error.h"

namespace still::kernels {
namespace {

thread_local ExternalWeights* g_active = nullptr;

// Up to this many rows of x take dot products with the stored rows directly (decoding);
// more rows amortise a dequantized panel and the fast sgemm.
constexpr int64_t kDirectRows = 4;

}  // namespace

ExternalWeightsScope::ExternalWeightsScope(ExternalWeights* w) : prev_(g_active) { g_active = w; }
ExternalWeightsScope::~ExternalWeightsScope() { g_active = prev_; }
ExternalWeights* active_external_weights() { return g_active; }

ExternalWeights::~ExternalWeights() { release_scratch(); }

void ExternalWeights::release_scratch() {
  std::free(scratch_);
  scratch_ = nullptr;
  scratch_floats_ = 0;
  cached_W_ = nullptr;
}

void ExternalWeights::matmul_wt(int64_t N, int64_t O, int64_t I, const float* x, const float* W,
                                float beta, float* y) {
  if (N <= kDirectRows) {
    // One stored row at a time into a per-thread row buffer, dotted with every row of x.
#pragma omp parallel
    {
      std::vector<float> row(size_t(I), 0.0f);
#pragma omp for schedule(static)
      for (int64_t o = 0; o < O; ++o) {
        rows_f32(W, I, o, o + 1, row.data());
        for (int64_t n = 0; n < N; ++n) {
          const float* xn = x + n * I;
          float s = 0;
#pragma omp simd reduction(+ : s)
          for (int64_t i = 0; i < I; ++i) s += xn[i] * row[size_t(i)];
          float& out = y[n * O + o];
          out = beta == 0.0f ? s : beta * out + s;
        }
      }
    }
    return;
  }
  // Panels of whole rows that fit the scratch limit, dequantized in parallel, then sgemm.
  const int64_t panel = std::clamp<int64_t>(int64_t(scratch_limit_) / I, 1, O);
  const size_t need = size_t(panel) * size_t(I);
  if (need > scratch_floats_) {
    release_scratch();
    scratch_ = static_cast<float*>(std::aligned_alloc(64, ((need * 4 + 63) / 64) * 64));
    require(scratch_ != nullptr, "out of memory: the dequantization scratch needs " +
                                     std::to_string((need * 4) >> 20) + " MiB");
    scratch_floats_ = need;
  }
  for (int64_t o0 = 0; o0 < O; o0 += panel) {
    const int64_t rows = std::min(panel, O - o0);
    const bool cached = rows == O && cached_W_ == W && cached_rows_ == O && cached_cols_ == I;
    if (!cached) {
      cached_W_ = nullptr;
#pragma omp parallel for schedule(static)
      for (int64_t r = 0; r < rows; ++r) rows_f32(W, I, o0 + r, o0 + r + 1, scratch_ + r * I);
      if (rows == O) cached_W_ = W, cached_rows_ = O, cached_cols_ = I;
    }
    matmul(false, true, N, rows, I, 1.0f, x, I, scratch_, I, beta, y + o0, O);
  }
}

}  // namespace still::kernels
