#include "still/model/block.h"

#include <cstring>

#include "still/kernels/rmsnorm.h"
#include "still/kernels/rope.h"
#include "still/kernels/swiglu.h"
#include "still/util/op_profile.h"

namespace still {

namespace k = kernels;

BlockActs assign_block_acts(float* base, size_t& off, const LlamaConfig& c, int64_t N, bool bf16) {
  auto take = [&](int64_t n) {
    float* p = base ? base + off : nullptr;
    off += (size_t(n) + 15) & ~size_t(15);  // 64-byte aligned slices
    return p;
  };
  auto take16 = [&](int64_t n) {
    if (!bf16) return static_cast<uint16_t*>(nullptr);
    return reinterpret_cast<uint16_t*>(take((n + 1) / 2));
  };
  const int64_t D = c.dim, Q = c.q_dim(), KV = c.kv_dim(), F = c.ffn_dim, H = c.n_heads;
  const int64_t KVH = c.n_kv_heads, QKV = Q + 2 * KV;
  BlockActs a;
  a.attn_in = take(N * D);
  a.attn_rstd = take(N);
  a.qkv_raw = c.qk_norm ? take(N * QKV) : nullptr;
  a.q_rstd = c.qk_norm ? take(N * H) : nullptr;
  a.k_rstd = c.qk_norm ? take(N * KVH) : nullptr;
  a.qkv = take(N * QKV);
  a.v = base ? (c.qk_norm ? a.qkv_raw : a.qkv) + Q + KV : nullptr;
  a.att = take(N * Q);
  a.lse = take(N * H);
  a.mid = take(N * D);
  a.ffn_in = take(N * D);
  a.ffn_rstd = take(N);
  a.gu = take(N * 2 * F);
  a.hid = take(N * F);
  a.attn_in16 = take16(N * D);
  a.att16 = take16(N * Q);
  a.ffn_in16 = take16(N * D);
  a.hid16 = take16(N * F);
  return a;
}

size_t block_acts_floats(const LlamaConfig& c, int64_t N, bool bf16) {
  size_t off = 0;
  assign_block_acts(nullptr, off, c, N, bf16);
  return off;
}

BatchAttention::BatchAttention(const LlamaConfig& c, int B, int T, const int32_t* positions)
    : positions_(positions) {
  const int64_t qkv = c.q_dim() + 2 * int64_t(c.kv_dim());
  // q, k, v (and their gradients) are read in place from fused [q | k | v] rows.
  dims_ = {B, T, c.n_heads, c.n_kv_heads, c.head_dim, qkv, qkv};
}

void BatchAttention::forward(int, const BlockActs& a) {
  const int64_t Q = int64_t(dims_.n_heads) * dims_.head_dim;
  k::attention_forward(a.att, a.lse, a.qkv, a.qkv + Q, a.v, positions_, dims_);
}

double BatchAttention::flops() const {
  return 4.0 * double(dims_.B) * dims_.T * dims_.T * dims_.n_heads * dims_.head_dim;
}

void block_forward(const LlamaConfig& c, const BlockWeights& w, const BlockActs& a, const float* x,
                   float* out, int64_t N, const RopeRows& rope, BlockAttention& attention,
                   int layer, k::LinearScratch& s) {
  const int D = c.dim, Q = c.q_dim(), KV = c.kv_dim(), F = c.ffn_dim, hd = c.head_dim;
  const int QKV = Q + 2 * KV;
  const float eps = c.norm_eps;
  // Attention: norm → fused q/k/v projection (+bias) → q/k norm → RoPE → attention → o_proj.
  STILL_OP("rmsnorm fwd", k::rmsnorm_forward(a.attn_in, a.attn_rstd, x, w.attn_norm, N, D, eps));
  float* qkv_dst = w.q_norm ? a.qkv_raw : a.qkv;
  STILL_MM("mm qkv fwd", 2.0 * N * D * QKV,
           k::linear_forward(qkv_dst, a.attn_in, a.attn_in16, w.qkv, w.qkv_bias, N, false, s));
  if (w.q_norm) {
    STILL_OP("qk norm fwd", {
      k::rmsnorm_forward_strided(a.qkv, QKV, a.q_rstd, a.qkv_raw, QKV, w.q_norm, N, c.n_heads, hd,
                                 eps);
      k::rmsnorm_forward_strided(a.qkv + Q, QKV, a.k_rstd, a.qkv_raw + Q, QKV, w.k_norm, N,
                                 c.n_kv_heads, hd, eps);
    });
  }
  STILL_OP("rope fwd", {
    k::rope_forward(a.qkv, rope.rows, N, c.n_heads, hd, rope.cos, rope.sin, QKV);
    k::rope_forward(a.qkv + Q, rope.rows, N, c.n_kv_heads, hd, rope.cos, rope.sin, QKV);
  });
  STILL_MM("attention fwd", attention.flops(), attention.forward(layer, a));
  STILL_OP("residual copy", std::memcpy(a.mid, x, sizeof(float) * size_t(N * D)));
  STILL_MM("mm o fwd", 2.0 * N * Q * D,
           k::linear_forward(a.mid, a.att, a.att16, w.o, nullptr, N, true, s));
  // MLP: norm → fused gate/up → SwiGLU → down_proj, added to the residual stream.
  STILL_OP("rmsnorm fwd", k::rmsnorm_forward(a.ffn_in, a.ffn_rstd, a.mid, w.ffn_norm, N, D, eps));
  STILL_MM("mm gate/up fwd", 4.0 * N * D * F,
           k::linear_forward(a.gu, a.ffn_in, a.ffn_in16, w.gate_up, nullptr, N, false, s));
  STILL_OP("swiglu fwd", k::swiglu_forward_packed(a.hid, a.gu, N, F));
  STILL_OP("residual copy", std::memcpy(out, a.mid, sizeof(float) * size_t(N * D)));
  STILL_MM("mm down fwd", 2.0 * N * F * D,
           k::linear_forward(out, a.hid, a.hid16, w.down, nullptr, N, true, s));
}

void block_backward(const LlamaConfig& c, const BlockWeights& w, const BlockGrads& g,
                    const BlockActs& a, const float* x, float* d_res, int64_t N,
                    const RopeRows& rope, const BatchAttention& attention,
                    const BlockBackwardScratch& d, k::LinearScratch& s) {
  const int D = c.dim, Q = c.q_dim(), KV = c.kv_dim(), F = c.ffn_dim, hd = c.head_dim;
  const int QKV = Q + 2 * KV;
  const int32_t* pos = attention.positions();
  // MLP.
  STILL_MM(
      "mm down bwd", 4.0 * N * F * D,
      k::linear_backward(d.d_hid, g.down, nullptr, d_res, a.hid, a.hid16, w.down, N, false, s));
  STILL_OP("swiglu bwd", k::swiglu_backward_packed(d.d_gu, d.d_hid, a.gu, N, F));
  STILL_MM("mm gate/up bwd", 8.0 * N * D * F,
           k::linear_backward(d.d_x, g.gate_up, nullptr, d.d_gu, a.ffn_in, a.ffn_in16, w.gate_up, N,
                              false, s));
  STILL_OP("rmsnorm bwd", k::rmsnorm_backward(d_res, g.ffn_norm, d.d_x, a.mid, w.ffn_norm,
                                              a.ffn_rstd, N, D, true));
  // Attention: dq, dk, dv land in the fused rows of d_qkv.
  STILL_MM("mm o bwd", 4.0 * N * Q * D,
           k::linear_backward(d.d_att, g.o, nullptr, d_res, a.att, a.att16, w.o, N, false, s));
  STILL_MM("attention bwd", 2 * attention.flops(),
           k::attention_backward(d.d_qkv, d.d_qkv + Q, d.d_qkv + Q + KV, d.d_att, a.att, a.lse,
                                 a.qkv, a.qkv + Q, a.v, pos, attention.dims()));
  STILL_OP("rope bwd", {
    k::rope_backward(d.d_qkv, rope.rows, N, c.n_heads, hd, rope.cos, rope.sin, QKV);
    k::rope_backward(d.d_qkv + Q, rope.rows, N, c.n_kv_heads, hd, rope.cos, rope.sin, QKV);
  });
  if (w.q_norm) {  // in place: the gradient of the raw projection replaces that of q/k
    STILL_OP("qk norm bwd", {
      k::rmsnorm_backward_strided(d.d_qkv, QKV, g.q_norm, d.d_qkv, QKV, a.qkv_raw, QKV, w.q_norm,
                                  a.q_rstd, N, c.n_heads, hd, false);
      k::rmsnorm_backward_strided(d.d_qkv + Q, QKV, g.k_norm, d.d_qkv + Q, QKV, a.qkv_raw + Q, QKV,
                                  w.k_norm, a.k_rstd, N, c.n_kv_heads, hd, false);
    });
  }
  STILL_MM("mm qkv bwd", 4.0 * N * D * QKV,
           k::linear_backward(d.d_x, g.qkv, g.qkv_bias, d.d_qkv, a.attn_in, a.attn_in16, w.qkv, N,
                              false, s));
  STILL_OP("rmsnorm bwd",
           k::rmsnorm_backward(d_res, g.attn_norm, d.d_x, x, w.attn_norm, a.attn_rstd, N, D, true));
}

}  // namespace still
