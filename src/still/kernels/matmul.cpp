#include "still/kernels/matmul.h"

#include <oneapi/dnnl/dnnl.h>

#include <algorithm>
#include <cstring>
#include <string>

#include "still/kernels/external_weights.h"
#include "still/kernels/matmul_bf16.h"
#include "still/kernels/parallel.h"
#include "still/kernels/precision.h"
#include "still/util/error.h"

namespace still::kernels {

void matmul(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha,
            const float* A, int64_t lda, const float* B, int64_t ldb, float beta, float* C,
            int64_t ldc) {
  if (M == 0 || N == 0) return;
  if (K == 0) {  // op(A)·op(B) is zero: C = beta * C
    for (int64_t i = 0; i < M; ++i)
      for (int64_t j = 0; j < N; ++j) C[i * ldc + j] = beta == 0 ? 0.0f : beta * C[i * ldc + j];
    return;
  }
  dnnl_status_t st = dnnl_sgemm(trans_a ? 'T' : 'N', trans_b ? 'T' : 'N', M, N, K, alpha, A, lda, B,
                                ldb, beta, C, ldc);
  if (st != dnnl_success)
    throw Error("matmul: oneDNN sgemm failed (status " + std::to_string(int(st)) + ") for M=" +
                std::to_string(M) + " N=" + std::to_string(N) + " K=" + std::to_string(K));
}

void linear_forward(float* y, const float* x, const float* W, const float* b, int64_t N, int64_t I,
                    int64_t O, bool accumulate) {
  float beta = accumulate ? 1.0f : 0.0f;
  if (b) {
    // Seed each row with the bias (added to what is there when accumulating).
#pragma omp parallel for schedule(static) if (N * O >= kParallelMinWork)
    for (int64_t n = 0; n < N; ++n) {
      float* row = y + n * O;
      if (accumulate)
        for (int64_t o = 0; o < O; ++o) row[o] += b[o];
      else
        std::memcpy(row, b, size_t(O) * sizeof(float));
    }
    beta = 1.0f;
  }
  if (ExternalWeights* ew = active_external_weights(); ew && ew->holds(W, O, I)) {
    ew->matmul_wt(N, O, I, x, W, beta, y);
    return;
  }
  if (Bf16Workspace* ws = active_bf16_workspace()) {
    ws->weight_matmul(false, true, N, O, I, ws->stage(x, N * I), I, W, I, beta, y, O);
    return;
  }
  matmul(false, true, N, O, I, 1.0f, x, I, W, I, beta, y, O);
}

void linear_backward(float* dx, float* dW, float* db, const float* dy, const float* x,
                     const float* W, int64_t N, int64_t I, int64_t O, bool accumulate_dx) {
  if (Bf16Workspace* ws = active_bf16_workspace()) {
    // dy is rounded to bf16 once for both matmuls; x is the copy its forward staged.
    const uint16_t* dy16 = ws->gradient(dy, N * O);
    if (dx)
      ws->weight_matmul(false, false, N, I, O, dy16, O, W, I, accumulate_dx ? 1.0f : 0.0f, dx, I);
    matmul_bf16(true, false, O, I, N, dy16, O, ws->staged(x, N * I), I, 1.0f, dW, I);
    if (db) bias_backward(db, dy, N, O);
    return;
  }
  if (dx) matmul(false, false, N, I, O, 1.0f, dy, O, W, I, accumulate_dx ? 1.0f : 0.0f, dx, I);
  matmul(true, false, O, I, N, 1.0f, dy, O, x, I, 1.0f, dW, I);
  if (db) bias_backward(db, dy, N, O);
}

void bias_backward(float* db, const float* dy, int64_t N, int64_t O) {
  constexpr int64_t kCols = 64;
  const int64_t blocks = (O + kCols - 1) / kCols;
#pragma omp parallel for schedule(static) if (N * O >= kParallelMinWork)
  for (int64_t blk = 0; blk < blocks; ++blk) {
    const int64_t o0 = blk * kCols, o1 = std::min(O, o0 + kCols);
    double acc[kCols] = {};
    for (int64_t n = 0; n < N; ++n)
      for (int64_t o = o0; o < o1; ++o) acc[o - o0] += dy[n * O + o];
    for (int64_t o = o0; o < o1; ++o) db[o] += float(acc[o - o0]);
  }
}

}  // namespace still::kernels
