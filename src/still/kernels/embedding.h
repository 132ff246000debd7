// Token embedding lookup and its gradient.
#pragma once
#include <cstdint>

namespace still::kernels {

// x[n, :] = table[tokens[n], :].
void embedding_forward(float* x, const float* table, const int32_t* tokens, int64_t N, int D);

// dtable[v, :] += Σ_{n: tokens[n] = v} dx[n, :]. Partitioned by vocabulary row, tokens
// visited in order, so the sum is deterministic and needs no atomics.
void embedding_backward(float* dtable, const float* dx, const int32_t* tokens, int64_t N, int D,
                        int V);

// y += x over n floats.
void add_inplace(float* y, const float* x, int64_t n);

}  // namespace still::kernels
