// The one definition of a transformer block: RMSNorm → fused q/k/v projection (+ bias) →
// q/k norm → RoPE → attention → o_proj → residual, RMSNorm → fused gate/up → SwiGLU →
// down_proj → residual. Training forward, inference prefill and (batched) KV-cache decode all
// run block_forward; they differ only in the buffers they give it and in how attention finds
// its keys and values (BlockAttention). Variants come from the weights: a q/k norm or a q/k/v
// bias runs where the block has one.
#pragma once
#include <cstdint>

#include "still/kernels/attention.h"
#include "still/kernels/linear.h"
#include "still/model/config.h"
#include "still/model/weights.h"

namespace still {

// Buffers of one block for N rows (one row per token). q/k/v come out of one fused matmul as
// rows [q | k | v] of q_dim + 2·kv_dim floats, gate/up as rows [gate | up]. The bf16 copies
// (`*16`) of the linear layers' inputs are needed only when the weights carry bf16 packs.
struct BlockActs {
  float *attn_in = nullptr, *attn_rstd = nullptr;  // normed attention input, its inverse RMS
  float* qkv_raw = nullptr;  // the fused projection before q/k norm (only with a q/k norm)
  float *q_rstd = nullptr, *k_rstd = nullptr;  // q/k norm inverse RMS per (token, head)
  float* qkv = nullptr;  // q and k after q/k norm and RoPE, and v: what attention reads
  float* v = nullptr;    // v inside qkv, or inside qkv_raw with a q/k norm (never normed)
  float *att = nullptr, *lse = nullptr;  // attention output (before o_proj), its logsumexp
  float* mid = nullptr;                  // residual stream after attention
  float *ffn_in = nullptr, *ffn_rstd = nullptr;
  float *gu = nullptr, *hid = nullptr;  // SwiGLU input [gate | up] and output
  uint16_t *attn_in16 = nullptr, *att16 = nullptr, *ffn_in16 = nullptr, *hid16 = nullptr;
};

// Floats BlockActs needs for N rows (bf16 copies included when `bf16`), and the assignment
// of a buffer of that size (`base` null: sizes only). Slices are 64-byte aligned.
size_t block_acts_floats(const LlamaConfig& c, int64_t N, bool bf16);
BlockActs assign_block_acts(float* base, size_t& offset, const LlamaConfig& c, int64_t N,
                            bool bf16);

// RoPE for N rows: row n is rotated by row rows[n] of the cos/sin tables [*, head_dim/2].
struct RopeRows {
  const float *cos = nullptr, *sin = nullptr;
  const int32_t* rows = nullptr;
};

// How attention gets its keys and values: from the rows of the batch itself (training,
// prefill of whole windows) or from per-sequence KV caches (decode).
class BlockAttention {
 public:
  virtual ~BlockAttention() = default;
  // Reads q, k (normed and rotated) and v of the N rows in a (qkv, v) and writes a.att
  // [N, q_dim] (and a.lse where a backward needs it).
  virtual void forward(int layer, const BlockActs& a) = 0;
  virtual double flops() const = 0;  // of one forward, for the op profile
};

// Causal attention within the batch's rows with document resets (kernels/attention.h).
class BatchAttention final : public BlockAttention {
 public:
  BatchAttention(const LlamaConfig& c, int B, int T, const int32_t* positions);
  void forward(int layer, const BlockActs& a) override;
  double flops() const override;
  const kernels::AttentionDims& dims() const { return dims_; }
  const int32_t* positions() const { return positions_; }

 private:
  kernels::AttentionDims dims_;
  const int32_t* positions_;
};

// x [N, dim] (the residual stream entering the block) → out [N, dim]. `out` may be `x` (in
// place: nothing of x is read after the block's last write to out).
void block_forward(const LlamaConfig& c, const BlockWeights& w, const BlockActs& a, const float* x,
                   float* out, int64_t N, const RopeRows& rope, BlockAttention& attention,
                   int layer, kernels::LinearScratch& scratch);

// Scratch of the backward pass, reused by every block.
struct BlockBackwardScratch {
  float *d_x = nullptr, *d_qkv = nullptr, *d_att = nullptr, *d_gu = nullptr, *d_hid = nullptr;
};

// Backward of block_forward over batch attention: d_res holds dL/d(out) and becomes dL/dx;
// weight gradients are added into g. x is the block's input as the forward saw it.
void block_backward(const LlamaConfig& c, const BlockWeights& w, const BlockGrads& g,
                    const BlockActs& a, const float* x, float* d_res, int64_t N,
                    const RopeRows& rope, const BatchAttention& attention,
                    const BlockBackwardScratch& s, kernels::LinearScratch& scratch);

}  // namespace still
