#include "still/kernels/matmul.h"

#include <oneapi/dnnl/dnnl.h>

#include <algorithm>
#include <string>

#include "still/kernels/parallel.h"
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
