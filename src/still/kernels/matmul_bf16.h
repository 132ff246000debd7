// bf16 matrix multiply with fp32 accumulation and an fp32 result, through oneDNN's matmul
// primitive (AVX512_BF16 kernels). One primitive per (shape, transposes, strides, beta) is
// created on first use and cached per thread: creating one costs far more than a small
// matmul. Transposed operands are described by strides, never copied.
#pragma once
#include <cstdint>

namespace still::kernels {

// C[M,N] = op(A)[M,K]·op(B)[K,N] + beta·C. A and B hold bf16 bits (row-major, row strides
// lda/ldb as stored; op(X) is X or Xᵀ), C is fp32 with row stride ldc. beta = 1 accumulates
// (weight gradients, residual adds); beta = 0 overwrites C (its old contents are not read).
void matmul_bf16(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, const uint16_t* A,
                 int64_t lda, const uint16_t* B, int64_t ldb, float beta, float* C, int64_t ldc);

// Primitives created so far on this thread (tests check that repeated shapes reuse them).
int64_t matmul_bf16_primitives_created();

}  // namespace still::kernels
