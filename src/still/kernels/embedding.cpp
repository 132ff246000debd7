#include "still/kernels/embedding.h"

#include <omp.h>

#include <cstring>

#include "still/kernels/parallel.h"

namespace still::kernels {

void embedding_forward(float* x, const LinearWeight& table, const int32_t* tokens, int64_t N) {
  const int64_t D = table.in;
  if (table.quant) {
#pragma omp parallel for schedule(static) if (N * D >= kParallelMinWork)
    for (int64_t n = 0; n < N; ++n) table.quant->rows_f32(tokens[n], tokens[n] + 1, x + n * D);
    return;
  }
#pragma omp parallel for schedule(static) if (N * D >= kParallelMinWork)
  for (int64_t n = 0; n < N; ++n)
    std::memcpy(x + n * D, table.f32 + int64_t(tokens[n]) * D, sizeof(float) * size_t(D));
}

void embedding_backward(float* dtable, const float* dx, const int32_t* tokens, int64_t N, int D,
                        int V) {
#pragma omp parallel if (N * D >= kParallelMinWork)
  {
    // Each thread owns a contiguous range of vocabulary rows and scans all tokens in order.
    const int nt = omp_get_num_threads(), t = omp_get_thread_num();
    const int64_t v0 = int64_t(V) * t / nt, v1 = int64_t(V) * (t + 1) / nt;
    for (int64_t n = 0; n < N; ++n) {
      const int64_t v = tokens[n];
      if (v < v0 || v >= v1) continue;
      float* row = dtable + v * D;
      const float* g = dx + n * D;
      for (int d = 0; d < D; ++d) row[d] += g[d];
    }
  }
}

void add_inplace(float* y, const float* x, int64_t n) {
#pragma omp parallel for schedule(static) if (n >= kParallelMinWork)
  for (int64_t i = 0; i < n; ++i) y[i] += x[i];
}

}  // namespace still::kernels
