// The fused q/k/v and gate/up path: the parameter layout keeps each group adjacent for any
// dims, and the strided kernels the engine runs on fused rows give the same bits as the
// dense kernels on the separated tensors.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "llama_test_helpers.h"
#include "still/kernels/attention.h"
#include "still/kernels/rmsnorm.h"
#include "still/kernels/rope.h"
#include "still/kernels/swiglu.h"
#include "still/model/params.h"
#include "still/util/rng.h"

namespace still {
namespace {

namespace k = kernels;
using VecF = std::vector<float>;

VecF random_vec(size_t n, uint64_t seed) {
  Rng r(seed);
  VecF v(n);
  for (auto& x : v) x = float(r.normal());
  return v;
}

// Copies columns [c0, c0 + w) of a [rows, ld] matrix into a dense [rows, w] one, and back.
VecF take_cols(const VecF& m, int64_t rows, int64_t ld, int64_t c0, int64_t w) {
  VecF out(size_t(rows * w));
  for (int64_t r = 0; r < rows; ++r)
    std::memcpy(&out[size_t(r * w)], &m[size_t(r * ld + c0)], size_t(w) * sizeof(float));
  return out;
}

bool same_bits(const VecF& a, const VecF& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

TEST(FusedLayout, QkvAndGateUpAreAdjacentForAnyDims) {
  // Odd sizes: no tensor's size is a multiple of the 16-float alignment.
  testing::Variant v{.name = "odd",
                     .dim = 18,
                     .n_heads = 3,
                     .n_kv_heads = 1,
                     .head_dim = 6,
                     .ffn_dim = 27,
                     .vocab = 29,
                     .qkv_bias = true,
                     .qk_norm = true};
  LlamaConfig c = testing::make_config(v);
  ParamLayout lay(c);
  const size_t D = 18, Q = 18, KV = 6, F = 27;
  for (auto& o : lay.layers) {
    EXPECT_EQ(o.wk, o.wq + Q * D);
    EXPECT_EQ(o.wv, o.wk + KV * D);
    EXPECT_EQ(o.bk, o.bq + Q);
    EXPECT_EQ(o.bv, o.bk + KV);
    EXPECT_EQ(o.w_up, o.w_gate + F * D);
  }
  // Every tensor inside the buffer, none overlapping; the first of each group still aligned.
  auto ts = lay.tensors();
  std::sort(ts.begin(), ts.end(), [](auto& a, auto& b) { return a.offset < b.offset; });
  for (size_t i = 0; i < ts.size(); ++i) {
    if (i + 1 < ts.size()) {
      EXPECT_LE(ts[i].offset + ts[i].numel, ts[i + 1].offset) << ts[i].name;
    }
    EXPECT_LE(ts[i].offset + ts[i].numel, lay.total());
    const bool packed = ts[i].name.find("k_proj") != std::string::npos ||
                        ts[i].name.find("v_proj") != std::string::npos ||
                        ts[i].name.find("up_proj") != std::string::npos;
    if (!packed) {
      EXPECT_EQ(ts[i].offset % 16, 0u) << ts[i].name;
    }
  }
}

TEST(FusedLayout, StridedRmsNormRopeSwigluMatchDenseBits) {
  const int64_t N = 37;
  const int H = 3, KVH = 1, hd = 8, Q = H * hd, KV = KVH * hd, QKV = Q + 2 * KV;
  const VecF qkv = random_vec(size_t(N * QKV), 1), w = random_vec(hd, 2);
  // q/k norm on the q columns of fused rows == rmsnorm over the dense q.
  VecF q = take_cols(qkv, N, QKV, 0, Q), yq(q.size()), rq(size_t(N * H));
  k::rmsnorm_forward(yq.data(), rq.data(), q.data(), w.data(), N * H, hd, 1e-5f);
  VecF y(qkv.size(), 0.0f), rs(size_t(N * H));
  k::rmsnorm_forward_strided(y.data(), QKV, rs.data(), qkv.data(), QKV, w.data(), N, H, hd, 1e-5f);
  EXPECT_TRUE(same_bits(take_cols(y, N, QKV, 0, Q), yq));
  EXPECT_TRUE(same_bits(rs, rq));
  // Its backward, in place on fused rows, == the dense backward.
  const VecF dy = random_vec(qkv.size(), 3);
  VecF dyq = take_cols(dy, N, QKV, 0, Q), dxq(dyq.size()), dwq(size_t(hd), 0.5f);
  k::rmsnorm_backward(dxq.data(), dwq.data(), dyq.data(), q.data(), w.data(), rq.data(), N * H, hd,
                      false);
  VecF d = dy, dw(size_t(hd), 0.5f);
  k::rmsnorm_backward_strided(d.data(), QKV, dw.data(), d.data(), QKV, qkv.data(), QKV, w.data(),
                              rs.data(), N, H, hd, false);
  EXPECT_TRUE(same_bits(take_cols(d, N, QKV, 0, Q), dxq));
  EXPECT_TRUE(same_bits(dw, dwq));
  EXPECT_TRUE(same_bits(take_cols(d, N, QKV, Q, 2 * KV), take_cols(dy, N, QKV, Q, 2 * KV)));

  // RoPE on the k columns of fused rows == RoPE on the dense k; other columns untouched.
  std::vector<int32_t> pos(static_cast<size_t>(N));
  for (int64_t t = 0; t < N; ++t) pos[size_t(t)] = int32_t(t % 11);
  VecF cos(size_t(11 * hd / 2)), sin(cos.size());
  k::rope_tables(k::rope_inv_freq(hd, 10000.0, {}), 0, 11, cos.data(), sin.data());
  VecF kd = take_cols(qkv, N, QKV, Q, KV), r = qkv;
  k::rope_forward(kd.data(), pos.data(), N, KVH, hd, cos.data(), sin.data());
  k::rope_forward(r.data() + Q, pos.data(), N, KVH, hd, cos.data(), sin.data(), QKV);
  EXPECT_TRUE(same_bits(take_cols(r, N, QKV, Q, KV), kd));
  EXPECT_TRUE(same_bits(take_cols(r, N, QKV, 0, Q), take_cols(qkv, N, QKV, 0, Q)));
  k::rope_backward(kd.data(), pos.data(), N, KVH, hd, cos.data(), sin.data());
  k::rope_backward(r.data() + Q, pos.data(), N, KVH, hd, cos.data(), sin.data(), QKV);
  EXPECT_TRUE(same_bits(take_cols(r, N, QKV, Q, KV), kd));

  // SwiGLU on [gate | up] rows == SwiGLU on the separate halves.
  const int64_t F = 21;
  const VecF gu = random_vec(size_t(N * 2 * F), 4), dh = random_vec(size_t(N * F), 5);
  const VecF gate = take_cols(gu, N, 2 * F, 0, F), up = take_cols(gu, N, 2 * F, F, F);
  VecF h(size_t(N * F)), hp(h.size()), dg(h.size()), du(h.size()), dgu(gu.size());
  k::swiglu_forward(h.data(), gate.data(), up.data(), N * F);
  k::swiglu_forward_packed(hp.data(), gu.data(), N, F);
  EXPECT_TRUE(same_bits(hp, h));
  k::swiglu_backward(dg.data(), du.data(), dh.data(), gate.data(), up.data(), N * F);
  k::swiglu_backward_packed(dgu.data(), dh.data(), gu.data(), N, F);
  EXPECT_TRUE(same_bits(take_cols(dgu, N, 2 * F, 0, F), dg));
  EXPECT_TRUE(same_bits(take_cols(dgu, N, 2 * F, F, F), du));
}

TEST(FusedLayout, StridedAttentionMatchesDenseBits) {
  const int B = 2, T = 24, H = 4, KVH = 2, hd = 8;
  const int64_t N = B * T, Q = H * hd, KV = KVH * hd, QKV = Q + 2 * KV;
  const VecF qkv = random_vec(size_t(N * QKV), 7), dout = random_vec(size_t(N * Q), 8);
  std::vector<int32_t> pos(static_cast<size_t>(N));
  for (int64_t i = 0; i < N; ++i) pos[size_t(i)] = int32_t(i % T < 10 ? i % T : i % T - 10);
  const VecF q = take_cols(qkv, N, QKV, 0, Q), kk = take_cols(qkv, N, QKV, Q, KV),
             v = take_cols(qkv, N, QKV, Q + KV, KV);
  k::AttentionDims dense{B, T, H, KVH, hd};
  k::AttentionDims fused{B, T, H, KVH, hd, QKV, QKV};
  VecF out(size_t(N * Q)), lse(size_t(B * H * T)), out_f(out.size()), lse_f(lse.size());
  k::attention_forward(out.data(), lse.data(), q.data(), kk.data(), v.data(), pos.data(), dense);
  k::attention_forward(out_f.data(), lse_f.data(), qkv.data(), qkv.data() + Q, qkv.data() + Q + KV,
                       pos.data(), fused);
  EXPECT_TRUE(same_bits(out_f, out));
  EXPECT_TRUE(same_bits(lse_f, lse));
  VecF dq(q.size()), dk(kk.size()), dv(v.size()), dqkv(qkv.size(), 9.0f);
  k::attention_backward(dq.data(), dk.data(), dv.data(), dout.data(), out.data(), lse.data(),
                        q.data(), kk.data(), v.data(), pos.data(), dense);
  k::attention_backward(dqkv.data(), dqkv.data() + Q, dqkv.data() + Q + KV, dout.data(), out.data(),
                        lse.data(), qkv.data(), qkv.data() + Q, qkv.data() + Q + KV, pos.data(),
                        fused);
  EXPECT_TRUE(same_bits(take_cols(dqkv, N, QKV, 0, Q), dq));
  EXPECT_TRUE(same_bits(take_cols(dqkv, N, QKV, Q, KV), dk));
  EXPECT_TRUE(same_bits(take_cols(dqkv, N, QKV, Q + KV, KV), dv));
}

}  // namespace
}  // namespace still
