// The one matrix-multiply interface of still. Every matmul in the engine (forward, backward,
// LM head, decode) goes through matmul(), so switching the backend or the precision
// (bf16 with fp32 master weights, issue #7) happens in one place.
#pragma once
#include <cstdint>

namespace still::kernels {

// C[M,N] = alpha * op(A)[M,K] * op(B)[K,N] + beta * C, all row-major; op(X) is X or Xᵀ.
// lda/ldb/ldc are row strides of A, B, C as stored. beta = 1 accumulates (weight grads).
void matmul(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha,
            const float* A, int64_t lda, const float* B, int64_t ldb, float beta, float* C,
            int64_t ldc);

// A linear layer in the Hugging Face layout: W is [O, I], y[N,O] = x[N,I]·Wᵀ + b.
// With `accumulate`, adds into y (residual connections) instead of overwriting it.
// Inside a Bf16Scope (kernels/precision.h) both linear_* run their matmuls in bf16 with
// fp32 accumulation; x must then stay unchanged until the layer's linear_backward.
void linear_forward(float* y, const float* x, const float* W, const float* b, int64_t N, int64_t I,
                    int64_t O, bool accumulate = false);

// Backward of linear_forward: dx[N,I] = dy·W (or += with accumulate_dx; skipped if dx is
// null), dW[O,I] += dyᵀ·x, db[O] += Σ_rows dy (skipped if db is null).
void linear_backward(float* dx, float* dW, float* db, const float* dy, const float* x,
                     const float* W, int64_t N, int64_t I, int64_t O, bool accumulate_dx);

// db[O] += Σ_n dy[n, O], accumulated in double; parallel over columns so the order of the
// sum never depends on the thread count.
void bias_backward(float* db, const float* dy, int64_t N, int64_t O);

}  // namespace still::kernels
