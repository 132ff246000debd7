#include "still/model/llama.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <string>

#include "still/kernels/attention.h"
#include "still/kernels/embedding.h"
#include "still/kernels/external_weights.h"
#include "still/kernels/matmul.h"
#include "still/kernels/rmsnorm.h"
#include "still/kernels/rope.h"
#include "still/kernels/swiglu.h"
#include "still/util/error.h"
#include "still/util/op_profile.h"
#include "still/util/rng.h"

namespace still {

namespace k = kernels;

namespace {

// Default rows per LM-head chunk: as many as fit this much memory of logits, in multiples
// of 64 rows, at least 64. Every chunk reads the whole LM head weight (fwd and dx) and reads
// and writes its gradient (dW): with few rows these passes, not the FLOPs, set the speed
// (stories15m, V = 32000: 256-row chunks cost ~6% of a step over unchunked, 1024 ~0%).
constexpr int64_t kLossChunkBytes = int64_t(128) << 20;

int default_loss_chunk_rows(int vocab) {
  const int64_t rows = kLossChunkBytes / (int64_t(sizeof(float)) * std::max(vocab, 1));
  return int(std::clamp<int64_t>(rows / 64 * 64, 64, int64_t(1) << 20));
}

LlamaConfig validated(const LlamaConfig& c) {
  c.validate();
  return c;
}

kernels::RopeScaling rope_scaling_of(const LlamaConfig& c) {
  kernels::RopeScaling s;
  const auto& j = c.rope_scaling;
  if (j.is_null()) return s;
  require(j.is_object(), "config: rope_scaling must be an object or null");
  auto num = [&](const char* key, double& out) {
    if (j.contains(key) && j[key].is_number()) out = j[key].get<double>();
  };
  if (j.contains("rope_type") && j["rope_type"].is_string())
    s.type = j["rope_type"].get<std::string>();
  else if (j.contains("type") && j["type"].is_string())
    s.type = j["type"].get<std::string>();
  num("factor", s.factor);
  num("low_freq_factor", s.low_freq_factor);
  num("high_freq_factor", s.high_freq_factor);
  num("original_max_position_embeddings", s.original_max_positions);
  return s;
}

// Checks a batch against the model before any kernel runs (kernels trust their inputs).
void check_batch(const Batch& b, const LlamaConfig& c) {
  require(b.B > 0 && b.T > 0, "batch: B and T must be positive (got B=", b.B, " T=", b.T, ")");
  const size_t n = size_t(b.B) * size_t(b.T);
  require(b.tokens.size() == n && b.targets.size() == n && b.positions.size() == n,
          "batch: tokens/targets/positions must each hold B*T = ", n, " entries");
  // Per token: the messages are passed in pieces so only a failing check builds one.
  for (size_t i = 0; i < n; ++i) {
    const int t = int(i % size_t(b.T));
    require(b.tokens[i] >= 0 && b.tokens[i] < c.vocab_size, "batch: token ", b.tokens[i],
            " at index ", i, " is outside the vocabulary of ", c.vocab_size);
    require(b.targets[i] >= -1 && b.targets[i] < c.vocab_size, "batch: target ", b.targets[i],
            " at index ", i, " is outside the vocabulary (or -1 for masked)");
    require(b.positions[i] >= 0 && b.positions[i] <= t, "batch: position ", b.positions[i],
            " at index ", i, " must be in [0, ", t, "] (a document cannot start before its row)");
  }
}

// Runs one op under a named time scope (STILL_PROFILE=1, util/op_profile.h); MM also counts
// the op's model FLOPs.
#define OP(name, ...)     \
  do {                    \
    STILL_OP_SCOPE(name); \
    __VA_ARGS__;          \
  } while (0)
#define MM(name, flops, ...)           \
  do {                                 \
    STILL_OP_SCOPE_FLOPS(name, flops); \
    __VA_ARGS__;                       \
  } while (0)

struct FreeDeleter {
  void operator()(float* p) const { std::free(p); }
};

}  // namespace

// What one block saves in the forward pass for its backward pass. q/k/v come out of one
// fused matmul as rows [q | k | v] of q_dim + 2·kv_dim floats, gate/up as rows [gate | up].
struct LayerActs {
  float *attn_in, *attn_rstd;  // normed input of attention, its inverse RMS
  float* qkv_raw;              // the fused projection before q/k norm (only with qk_norm)
  float *q_rstd, *k_rstd;      // q/k norm inverse RMS per (token, head)
  float* qkv;                  // q and k after q/k norm and RoPE, and v: what attention reads
  float* v;                    // v inside qkv, or inside qkv_raw with qk_norm (never normed)
  float *att, *lse;            // attention output (before o_proj) and its logsumexp
  float* mid;                  // residual stream after attention
  float *ffn_in, *ffn_rstd;
  float *gu, *hid;  // SwiGLU inputs [gate | up] and output
};

struct LlamaModel::Impl {
  int chunk_rows = 0;  // set by the constructor (default_loss_chunk_rows) or the caller
  Precision precision = Precision::kFp32;
  k::Bf16Workspace bf16;
  // Weights held outside params_ (a GGUF's Q8_0 matrices), or null.
  std::shared_ptr<k::ExternalWeights> external;
  int64_t planned_rows = 0;  // B*T the buffer is planned for
  // Forward passes only (set_inference_only).
  bool inference_only = false;
  std::unique_ptr<float, FreeDeleter> buffer;
  size_t buffer_floats = 0;

  std::vector<float*> res;  // residual stream entering block l (res[L]: after the last)
  std::vector<LayerActs> layers;
  float *final_out = nullptr, *final_rstd = nullptr;
  // Backward scratch, reused by every block.
  float *d_res, *d_x, *d_qkv, *d_att, *d_gu, *d_hid, *d_final;
  float* logits;  // one chunk of [rows, V]

  std::vector<double> inv_freq;
  std::vector<float> rope_cos, rope_sin;  // [positions, head_dim/2]
  int rope_positions = 0;

  // Lays out every buffer for N = B*T rows starting at `base`; returns the floats needed.
  // Called once with nullptr to measure, then with the real allocation.
  size_t assign(float* base, const LlamaConfig& c, int64_t N) {
    size_t off = 0;
    auto take = [&](int64_t n) {
      float* p = base ? base + off : nullptr;
      off += (size_t(n) + 15) & ~size_t(15);  // 64-byte aligned slices
      return p;
    };
    const int64_t D = c.dim, Q = c.q_dim(), KV = c.kv_dim(), F = c.ffn_dim, H = c.n_heads;
    const int64_t KVH = c.n_kv_heads, QKV = Q + 2 * KV;
    res.assign(size_t(c.n_layers) + 1, nullptr);
    layers.assign(size_t(c.n_layers), LayerActs{});
    res[0] = take(N * D);
    const size_t block_start = off;
    for (int l = 0; l < c.n_layers; ++l) {
      LayerActs& a = layers[size_t(l)];
      // Forward only: nothing is kept for a backward pass, so every block reuses the first
      // block's buffers, and the residual stream is updated in place (a block's last write
      // to it comes after its last read).
      if (inference_only) off = block_start;
      a.attn_in = take(N * D);
      a.attn_rstd = take(N);
      a.qkv_raw = c.qk_norm ? take(N * QKV) : nullptr;
      a.q_rstd = c.qk_norm ? take(N * H) : nullptr;
      a.k_rstd = c.qk_norm ? take(N * KVH) : nullptr;
      a.qkv = take(N * QKV);
      a.v = (c.qk_norm ? a.qkv_raw : a.qkv) + (base ? Q + KV : 0);
      a.att = take(N * Q);
      a.lse = take(N * H);
      a.mid = take(N * D);
      a.ffn_in = take(N * D);
      a.ffn_rstd = take(N);
      a.gu = take(N * 2 * F);
      a.hid = take(N * F);
      res[size_t(l) + 1] = inference_only ? res[0] : take(N * D);
    }
    final_out = take(N * D);
    final_rstd = take(N);
    if (inference_only) {
      d_res = d_x = d_qkv = d_att = d_gu = d_hid = d_final = nullptr;
      logits = take(std::min<int64_t>(chunk_rows, N) * c.vocab_size);
      return off;
    }
    d_res = take(N * D);
    d_x = take(N * D);
    d_qkv = take(N * QKV);
    d_att = take(N * Q);
    d_gu = take(N * 2 * F);
    d_hid = take(N * F);
    d_final = take(N * D);
    logits = take(std::min<int64_t>(chunk_rows, N) * c.vocab_size);
    return off;
  }

  // Plans the activation buffer for N rows; only grows.
  void plan(const LlamaConfig& c, int64_t N) {
    if (N <= planned_rows) return;
    const size_t floats = assign(nullptr, c, N);
    const size_t bytes = (floats * sizeof(float) + 63) & ~size_t(63);
    buffer.reset(static_cast<float*>(std::aligned_alloc(64, bytes)));
    if (!buffer)
      throw Error("out of memory: the activation buffer for " + std::to_string(N) +
                  " tokens needs " + std::to_string(bytes >> 20) +
                  " MiB; use a smaller batch or sequence length");
    std::memset(buffer.get(), 0, bytes);  // fault the pages in once, here
    buffer_floats = floats;
    assign(buffer.get(), c, N);
    planned_rows = N;
  }

  void ensure_rope(const LlamaConfig& c, int n_pos) {
    if (n_pos <= rope_positions) return;
    const size_t half = size_t(c.head_dim / 2);
    rope_cos.resize(size_t(n_pos) * half);
    rope_sin.resize(size_t(n_pos) * half);
    k::rope_tables(inv_freq, 0, n_pos, rope_cos.data(), rope_sin.data());
    rope_positions = n_pos;
  }

  // The bf16 workspace for a pass (its weight copy refreshed if the parameters changed), or
  // null in fp32.
  k::Bf16Workspace* begin_pass(const ZeroFloats& P, bool& params_changed) {
    if (precision != Precision::kBf16) return nullptr;
    if (params_changed) bf16.set_params(P.data(), int64_t(P.size()));
    params_changed = false;
    bf16.begin_pass();
    return &bf16;
  }

  void forward(const LlamaConfig& c, const ParamLayout& lay, const float* P, const Batch& batch);
  LossStats lm_head_loss(const LlamaConfig& c, const ParamLayout& lay, const float* P, float* G,
                         int64_t N, LogitLoss& loss, bool want_grad, float grad_scale);
  void backward(const LlamaConfig& c, const ParamLayout& lay, const float* P, float* G,
                const Batch& batch);
};

namespace {

const float* opt(const float* base, size_t offset) {
  return offset == ParamLayout::kAbsent ? nullptr : base + offset;
}
float* opt(float* base, size_t offset) {
  return offset == ParamLayout::kAbsent ? nullptr : base + offset;
}

// q, k, v (and their gradients) are read in place from fused [q | k | v] rows.
k::AttentionDims attention_dims(const LlamaConfig& c, const Batch& b) {
  const int64_t qkv = c.q_dim() + 2 * int64_t(c.kv_dim());
  return {b.B, b.T, c.n_heads, c.n_kv_heads, c.head_dim, qkv, qkv};
}

}  // namespace

void LlamaModel::Impl::forward(const LlamaConfig& c, const ParamLayout& lay, const float* P,
                               const Batch& batch) {
  const int64_t N = int64_t(batch.B) * batch.T;
  const int D = c.dim, Q = c.q_dim(), KV = c.kv_dim(), F = c.ffn_dim, hd = c.head_dim;
  const int QKV = Q + 2 * KV;
  const int32_t* pos = batch.positions.data();
  const float eps = c.norm_eps;
  const float *cos = rope_cos.data(), *sin = rope_sin.data();

  OP("embedding fwd", k::embedding_forward(res[0], P + lay.embed, batch.tokens.data(), N, D));
  for (int l = 0; l < c.n_layers; ++l) {
    const LayerOffsets& o = lay.layers[size_t(l)];
    LayerActs& a = layers[size_t(l)];
    // Attention: norm → fused q/k/v projection (+bias) → q/k norm → RoPE → attention → o_proj.
    OP("rmsnorm fwd",
       k::rmsnorm_forward(a.attn_in, a.attn_rstd, res[size_t(l)], P + o.attn_norm, N, D, eps));
    float* qkv_dst = c.qk_norm ? a.qkv_raw : a.qkv;
    MM("mm qkv fwd", 2.0 * N * D * QKV,
       k::linear_forward(qkv_dst, a.attn_in, P + o.wq, opt(P, o.bq), N, D, QKV));
    if (c.qk_norm) {
      OP("qk norm fwd", {
        k::rmsnorm_forward_strided(a.qkv, QKV, a.q_rstd, a.qkv_raw, QKV, P + o.q_norm, N, c.n_heads,
                                   hd, eps);
        k::rmsnorm_forward_strided(a.qkv + Q, QKV, a.k_rstd, a.qkv_raw + Q, QKV, P + o.k_norm, N,
                                   c.n_kv_heads, hd, eps);
      });
    }
    OP("rope fwd", {
      k::rope_forward(a.qkv, pos, N, c.n_heads, hd, cos, sin, QKV);
      k::rope_forward(a.qkv + Q, pos, N, c.n_kv_heads, hd, cos, sin, QKV);
    });
    MM("attention fwd", 4.0 * N * batch.T * Q,
       k::attention_forward(a.att, a.lse, a.qkv, a.qkv + Q, a.v, pos, attention_dims(c, batch)));
    OP("residual copy", std::memcpy(a.mid, res[size_t(l)], sizeof(float) * size_t(N * D)));
    MM("mm o fwd", 2.0 * N * Q * D,
       k::linear_forward(a.mid, a.att, P + o.wo, nullptr, N, Q, D, /*accumulate=*/true));
    // MLP: norm → fused gate/up → SwiGLU → down_proj, added to the residual stream.
    OP("rmsnorm fwd", k::rmsnorm_forward(a.ffn_in, a.ffn_rstd, a.mid, P + o.ffn_norm, N, D, eps));
    MM("mm gate/up fwd", 4.0 * N * D * F,
       k::linear_forward(a.gu, a.ffn_in, P + o.w_gate, nullptr, N, D, 2 * F));
    OP("swiglu fwd", k::swiglu_forward_packed(a.hid, a.gu, N, F));
    float* out = res[size_t(l) + 1];
    OP("residual copy", std::memcpy(out, a.mid, sizeof(float) * size_t(N * D)));
    MM("mm down fwd", 2.0 * N * F * D,
       k::linear_forward(out, a.hid, P + o.w_down, nullptr, N, F, D, /*accumulate=*/true));
  }
  OP("rmsnorm fwd", k::rmsnorm_forward(final_out, final_rstd, res[size_t(c.n_layers)],
                                       P + lay.final_norm, N, D, eps));
}

// The LM head fused with the loss, a chunk of rows at a time: logits = h·Wᵀ, the loss turns
// them into dlogits in place, then dh = dlogits·W and dW += dlogitsᵀ·h.
LossStats LlamaModel::Impl::lm_head_loss(const LlamaConfig& c, const ParamLayout& lay,
                                         const float* P, float* G, int64_t N, LogitLoss& loss,
                                         bool want_grad, float grad_scale) {
  const int D = c.dim, V = c.vocab_size;
  const float* W = P + lay.lm_head;
  LossStats stats;
  for (int64_t r0 = 0; r0 < N; r0 += chunk_rows) {
    const int n = int(std::min<int64_t>(chunk_rows, N - r0));
    const float* h = final_out + r0 * D;
    const double mm_flops = 2.0 * n * V * D;
    MM("mm lm_head fwd", mm_flops, k::linear_forward(logits, h, W, nullptr, n, D, V));
    OP("loss", stats += loss.process(r0, n, V, logits, want_grad, grad_scale));
    if (!want_grad) continue;
    MM("mm lm_head bwd", 2 * mm_flops,
       k::linear_backward(d_final + r0 * D, G + lay.lm_head, nullptr, logits, h, W, n, D, V,
                          false));
  }
  return stats;
}

void LlamaModel::Impl::backward(const LlamaConfig& c, const ParamLayout& lay, const float* P,
                                float* G, const Batch& batch) {
  const int64_t N = int64_t(batch.B) * batch.T;
  const int D = c.dim, Q = c.q_dim(), KV = c.kv_dim(), F = c.ffn_dim, hd = c.head_dim;
  const int QKV = Q + 2 * KV;
  const int32_t* pos = batch.positions.data();
  const float *cos = rope_cos.data(), *sin = rope_sin.data();

  // d_res carries dL/d(residual stream) down through the blocks.
  OP("rmsnorm bwd", k::rmsnorm_backward(d_res, G + lay.final_norm, d_final, res[size_t(c.n_layers)],
                                        P + lay.final_norm, final_rstd, N, D, false));
  for (int l = c.n_layers - 1; l >= 0; --l) {
    const LayerOffsets& o = lay.layers[size_t(l)];
    const LayerActs& a = layers[size_t(l)];
    // MLP.
    MM("mm down bwd", 4.0 * N * F * D,
       k::linear_backward(d_hid, G + o.w_down, nullptr, d_res, a.hid, P + o.w_down, N, F, D,
                          false));
    OP("swiglu bwd", k::swiglu_backward_packed(d_gu, d_hid, a.gu, N, F));
    MM("mm gate/up bwd", 8.0 * N * D * F,
       k::linear_backward(d_x, G + o.w_gate, nullptr, d_gu, a.ffn_in, P + o.w_gate, N, D, 2 * F,
                          false));
    OP("rmsnorm bwd", k::rmsnorm_backward(d_res, G + o.ffn_norm, d_x, a.mid, P + o.ffn_norm,
                                          a.ffn_rstd, N, D, true));
    // Attention: dq, dk, dv land in the fused rows of d_qkv.
    MM("mm o bwd", 4.0 * N * Q * D,
       k::linear_backward(d_att, G + o.wo, nullptr, d_res, a.att, P + o.wo, N, Q, D, false));
    MM("attention bwd", 8.0 * N * batch.T * Q,
       k::attention_backward(d_qkv, d_qkv + Q, d_qkv + Q + KV, d_att, a.att, a.lse, a.qkv,
                             a.qkv + Q, a.v, pos, attention_dims(c, batch)));
    OP("rope bwd", {
      k::rope_backward(d_qkv, pos, N, c.n_heads, hd, cos, sin, QKV);
      k::rope_backward(d_qkv + Q, pos, N, c.n_kv_heads, hd, cos, sin, QKV);
    });
    if (c.qk_norm) {  // in place: the gradient of the raw projection replaces that of q/k
      OP("qk norm bwd", {
        k::rmsnorm_backward_strided(d_qkv, QKV, G + o.q_norm, d_qkv, QKV, a.qkv_raw, QKV,
                                    P + o.q_norm, a.q_rstd, N, c.n_heads, hd, false);
        k::rmsnorm_backward_strided(d_qkv + Q, QKV, G + o.k_norm, d_qkv + Q, QKV, a.qkv_raw + Q,
                                    QKV, P + o.k_norm, a.k_rstd, N, c.n_kv_heads, hd, false);
      });
    }
    MM("mm qkv bwd", 4.0 * N * D * QKV,
       k::linear_backward(d_x, G + o.wq, opt(G, o.bq), d_qkv, a.attn_in, P + o.wq, N, D, QKV,
                          false));
    OP("rmsnorm bwd", k::rmsnorm_backward(d_res, G + o.attn_norm, d_x, res[size_t(l)],
                                          P + o.attn_norm, a.attn_rstd, N, D, true));
  }
  // With tied embeddings this adds to the LM head's gradient already in the same slice.
  OP("embedding bwd",
     k::embedding_backward(G + lay.embed, d_res, batch.tokens.data(), N, D, c.vocab_size));
}

LlamaModel::LlamaModel(const LlamaConfig& config)
    : config_(validated(config)),
      layout_(config_),
      params_(layout_.total()),
      grads_(layout_.total()),
      impl_(std::make_unique<Impl>()) {
  impl_->chunk_rows = default_loss_chunk_rows(config_.vocab_size);
  impl_->inv_freq =
      k::rope_inv_freq(config_.head_dim, double(config_.rope_theta), rope_scaling_of(config_));
}

LlamaModel::~LlamaModel() = default;

void LlamaModel::init_random(uint64_t seed) {
  const double std_dev = 0.02;
  const double out_scale = 1.0 / std::sqrt(2.0 * config_.n_layers);
  const auto& tensors = layout_.tensors();
  for (size_t ti = 0; ti < tensors.size(); ++ti) {
    const ParamInfo& t = tensors[ti];
    float* p = params_.data() + t.offset;
    if (t.shape.size() == 1) {  // norms get ones, biases zeros
      const bool bias = t.name.size() >= 4 && t.name.compare(t.name.size() - 4, 4, "bias") == 0;
      std::fill(p, p + t.numel, bias ? 0.0f : 1.0f);
      continue;
    }
    const bool out_proj =
        t.name.find("o_proj") != std::string::npos || t.name.find("down_proj") != std::string::npos;
    const double sd = out_proj ? std_dev * out_scale : std_dev;
    // One RNG stream per (tensor, chunk): the same values for any thread count.
    constexpr int64_t kChunk = 1 << 16;
    const int64_t chunks = (int64_t(t.numel) + kChunk - 1) / kChunk;
#pragma omp parallel for schedule(static)
    for (int64_t ch = 0; ch < chunks; ++ch) {
      Rng rng(mix_seed(seed, ti, uint64_t(ch)));
      const int64_t end = std::min<int64_t>(int64_t(t.numel), (ch + 1) * kChunk);
      for (int64_t i = ch * kChunk; i < end; ++i) p[i] = float(sd * rng.normal());
    }
  }
}

void LlamaModel::zero_grads() {
  STILL_OP_SCOPE("zero grads");
  float* g = grads_.data();
  const int64_t n = int64_t(grads_.size());
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < n; ++i) g[i] = 0.0f;
}

LossStats LlamaModel::forward_backward(const Batch& batch, LogitLoss& loss, float grad_scale) {
  require(!impl_->external,
          "this model's weights are held quantized (Q8_0) for inference only and cannot be "
          "trained: load it dequantized (e.g. still teach --dequantize) or train from f32 weights");
  require(!impl_->inference_only,
          "internal: forward_backward on a model set up for inference only");
  check_batch(batch, config_);
  const int64_t N = int64_t(batch.B) * batch.T;
  impl_->plan(config_, N);
  impl_->ensure_rope(config_, batch.T);
  k::Bf16Scope scope(impl_->begin_pass(params_, params_changed_));
  k::ExternalWeightsScope held(impl_->external.get());
  impl_->forward(config_, layout_, params_.data(), batch);
  LossStats s = impl_->lm_head_loss(config_, layout_, params_.data(), grads_.data(), N, loss, true,
                                    grad_scale);
  impl_->backward(config_, layout_, params_.data(), grads_.data(), batch);
  return s;
}

LossStats LlamaModel::forward_backward(const Batch& batch, float grad_scale) {
  CrossEntropyLoss ce(batch);
  return forward_backward(batch, ce, grad_scale);
}

LossStats LlamaModel::forward_loss(const Batch& batch, LogitLoss& loss) {
  check_batch(batch, config_);
  const int64_t N = int64_t(batch.B) * batch.T;
  impl_->plan(config_, N);
  impl_->ensure_rope(config_, batch.T);
  k::Bf16Scope scope(impl_->begin_pass(params_, params_changed_));
  k::ExternalWeightsScope held(impl_->external.get());
  impl_->forward(config_, layout_, params_.data(), batch);
  return impl_->lm_head_loss(config_, layout_, params_.data(), grads_.data(), N, loss, false, 0.0f);
}

LossStats LlamaModel::forward_loss(const Batch& batch) {
  CrossEntropyLoss ce(batch);
  return forward_loss(batch, ce);
}

void LlamaModel::forward_logits(const Batch& batch, float* logits) {
  check_batch(batch, config_);
  const int64_t N = int64_t(batch.B) * batch.T;
  impl_->plan(config_, N);
  impl_->ensure_rope(config_, batch.T);
  k::Bf16Scope scope(impl_->begin_pass(params_, params_changed_));
  k::ExternalWeightsScope held(impl_->external.get());
  impl_->forward(config_, layout_, params_.data(), batch);
  k::linear_forward(logits, impl_->final_out, params_.data() + layout_.lm_head, nullptr, N,
                    config_.dim, config_.vocab_size);
}

void LlamaModel::set_external_weights(std::shared_ptr<k::ExternalWeights> w) {
  impl_->external = std::move(w);
}

void LlamaModel::set_inference_only() {
  if (impl_->inference_only) return;
  impl_->inference_only = true;
  impl_->planned_rows = 0;  // plan again, smaller, on the next batch
  impl_->buffer.reset();
  impl_->buffer_floats = 0;
}

k::ExternalWeights* LlamaModel::external_weights() const { return impl_->external.get(); }

size_t LlamaModel::weight_bytes() const {
  size_t floats = 0;
  for (const auto& t : layout_.tensors()) floats += t.numel;
  const k::ExternalWeights* e = impl_->external.get();
  return e ? (floats - e->floats_held()) * sizeof(float) + e->bytes() : floats * sizeof(float);
}

size_t LlamaModel::activation_bytes() const {
  return impl_->buffer_floats * sizeof(float) + impl_->bf16.bytes();
}

void LlamaModel::set_precision(Precision p) {
  require_precision_supported(p);
  impl_->precision = p;
  params_changed_ = true;
}

Precision LlamaModel::precision() const { return impl_->precision; }

int64_t LlamaModel::bf16_weight_refreshes() const { return impl_->bf16.param_refreshes(); }

void LlamaModel::set_loss_chunk_rows(int rows) {
  require(rows > 0, "loss chunk rows must be positive (got " + std::to_string(rows) + ")");
  if (rows == impl_->chunk_rows) return;
  impl_->chunk_rows = rows;
  impl_->planned_rows = 0;  // the logits chunk changes size: plan again on the next batch
}

int LlamaModel::loss_chunk_rows() const { return impl_->chunk_rows; }

const std::vector<double>& LlamaModel::rope_inv_freq() const { return impl_->inv_freq; }

}  // namespace still

#undef OP
#undef MM
