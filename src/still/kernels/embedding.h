// Token embedding lookup and its gradient.
#pragma once
#include <cstdint>

#include "still/kernels/linear.h"

namespace still::kernels {

// x[n, :] = table[tokens[n], :] for the [V, D] table (D = table.in), read from the storage the
// table has (a tied LM head is the same LinearWeight).
void embedding_forward(float* x, const LinearWeight& table, const int32_t* tokens, int64_t N);

// dtable[v, :] += Σ_{n: tokens[n] = v} dx[n, :]. Partitioned by vocabulary row, tokens
// visited in order, so the sum is deterministic and needs no atomics.
void embedding_backward(float* dtable, const float* dx, const int32_t* tokens, int64_t N, int D,
                        int V);

// y += x over n floats.
void add_inplace(float* y, const float* x, int64_t n);

}  // namespace still::kernels
