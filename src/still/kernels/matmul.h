// fp32 matrix multiply: every fp32 GEMM of the engine (linear layers in kernels/linear.h,
// attention scores and values, the LM head) calls matmul(), so the fp32 backend is chosen in
// one place. bf16 matmuls go through kernels/matmul_bf16.h; quantized weights are dequantized
// into panels for matmul() or dotted row by row (kernels/linear.cpp).
#pragma once
#include <cstdint>

namespace still::kernels {

// C[M,N] = alpha * op(A)[M,K] * op(B)[K,N] + beta * C, all row-major; op(X) is X or Xᵀ.
// lda/ldb/ldc are row strides of A, B, C as stored. beta = 1 accumulates (weight grads).
void matmul(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha,
            const float* A, int64_t lda, const float* B, int64_t ldb, float beta, float* C,
            int64_t ldc);

// db[O] += Σ_n dy[n, O], accumulated in double; parallel over columns so the order of the
// sum never depends on the thread count.
void bias_backward(float* db, const float* dy, int64_t N, int64_t O);

}  // namespace still::kernels
