// bf16 matrix multiply with fp32 accumulation and an fp32 result, through oneDNN's matmul
// primitive (AVX512_BF16 kernels). One primitive per (shape, transposes, strides, beta) is
// created on first use and cached per thread: creating one costs far more than a small
// matmul. Transposed operands are described by strides, never copied.
#pragma once
#include <cstdint>
#include <memory>
#include <vector>

namespace still::kernels {

// C[M,N] = op(A)[M,K]·op(B)[K,N] + beta·C. A and B hold bf16 bits (row-major, row strides
// lda/ldb as stored; op(X) is X or Xᵀ), C is fp32 with row stride ldc. beta = 1 accumulates
// (weight gradients, residual adds); beta = 0 overwrites C (its old contents are not read).
void matmul_bf16(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, const uint16_t* A,
                 int64_t lda, const uint16_t* B, int64_t ldb, float beta, float* C, int64_t ldc);

// Primitives created so far on this thread (tests check that repeated shapes reuse them).
int64_t matmul_bf16_primitives_created();

// bf16 copies of fp32 weight matrices in the blocked layout oneDNN's bf16 kernel reads
// directly (otherwise every call re-packs its B operand: for the LM head, once per chunk of
// rows). A weight is rounded (nearest even) and packed on first use after invalidate(), so
// once per optimizer step; the caller guarantees it does not change in between.
class Bf16WeightPacks {
 public:
  Bf16WeightPacks();
  ~Bf16WeightPacks();
  Bf16WeightPacks(const Bf16WeightPacks&) = delete;
  Bf16WeightPacks& operator=(const Bf16WeightPacks&) = delete;

  void invalidate();  // the weights changed
  // C[M,N] = op(A)[M,K]·op(W)[K,N] + beta·C; A bf16 as in matmul_bf16, W fp32 (row stride ldw).
  void matmul(bool trans_a, bool trans_w, int64_t M, int64_t N, int64_t K, const uint16_t* A,
              int64_t lda, const float* W, int64_t ldw, float beta, float* C, int64_t ldc);
  size_t bytes() const;
  int64_t packs_made() const { return packs_made_; }              // packs made so far
  int64_t packs_made_by_converter() const { return own_packs_; }  // of which not by oneDNN

 private:
  struct Pack;
  std::vector<std::unique_ptr<Pack>> packs_;
  uint64_t version_ = 1;
  int64_t packs_made_ = 0, own_packs_ = 0;
};

}  // namespace still::kernels
