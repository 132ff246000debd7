// Incremental decoding with a KV cache: the same ops as LlamaModel's forward pass, for a few
// new tokens that attend everything already in the cache (one document).
#include <cstring>
#include <string>
#include <vector>

#include "still/kernels/attention.h"
#include "still/kernels/embedding.h"
#include "still/kernels/external_weights.h"
#include "still/kernels/matmul.h"
#include "still/kernels/rmsnorm.h"
#include "still/kernels/rope.h"
#include "still/kernels/swiglu.h"
#include "still/model/llama.h"
#include "still/util/error.h"

namespace still {

namespace k = kernels;

KVCache::KVCache(const LlamaConfig& config, int max_tokens) : capacity_(max_tokens) {
  require(max_tokens > 0,
          "KV cache: capacity must be positive (got " + std::to_string(max_tokens) + ")");
  const size_t n = size_t(config.n_layers) * size_t(max_tokens) * size_t(config.kv_dim());
  k_.assign(n, 0.0f);
  v_.assign(n, 0.0f);
}

void decode(const LlamaModel& model, KVCache& cache, const int32_t* tokens, int n,
            float* logits_last) {
  const LlamaConfig& c = model.config();
  const ParamLayout& lay = model.layout();
  const float* P = model.params();
  const int D = c.dim, Q = c.q_dim(), KV = c.kv_dim(), F = c.ffn_dim, hd = c.head_dim;
  const int H = c.n_heads, KVH = c.n_kv_heads, cap = cache.capacity_;
  const float eps = c.norm_eps;
  require(n > 0, "decode: no tokens given");
  require(cache.k_.size() == size_t(c.n_layers) * size_t(cap) * size_t(KV),
          "decode: the KV cache was made for a different model configuration");
  require(int64_t(cache.length_) + n <= cap,
          "decode: the KV cache holds " + std::to_string(cap) + " tokens; " +
              std::to_string(cache.length_) + " + " + std::to_string(n) +
              " would overflow it (start a new sequence or use a larger cache)");
  for (int t = 0; t < n; ++t)
    require(tokens[t] >= 0 && tokens[t] < c.vocab_size,
            "decode: token " + std::to_string(tokens[t]) + " is outside the vocabulary of " +
                std::to_string(c.vocab_size));
  const int64_t past = cache.length_;
  k::ExternalWeightsScope held(model.external_weights());  // Q8_0 weights, if the model has them

  // Scratch for n rows (small: decode handles a prompt or a single token).
  std::vector<float> x(size_t(n) * D), xn(size_t(n) * D), q(size_t(n) * Q), att(size_t(n) * Q);
  std::vector<float> rstd(size_t(n) * H), gate(size_t(n) * F), up(size_t(n) * F),
      hid(size_t(n) * F);
  std::vector<float> q_raw(c.qk_norm ? size_t(n) * Q : 0), k_raw(c.qk_norm ? size_t(n) * KV : 0);
  std::vector<float> cos(size_t(n) * hd / 2), sin(size_t(n) * hd / 2);
  std::vector<int32_t> rel(static_cast<size_t>(n));  // rows of the cos/sin tables
  for (int t = 0; t < n; ++t) rel[size_t(t)] = t;
  k::rope_tables(model.rope_inv_freq(), past, n, cos.data(), sin.data());

  k::embedding_forward(x.data(), P + lay.embed, tokens, n, D);
  for (int l = 0; l < c.n_layers; ++l) {
    const LayerOffsets& o = lay.layers[size_t(l)];
    float* kl = cache.k_.data() + size_t(l) * cap * KV;
    float* vl = cache.v_.data() + size_t(l) * cap * KV;
    float* k_new = kl + past * KV;
    float* v_new = vl + past * KV;
    auto bias = [&](size_t off) { return off == ParamLayout::kAbsent ? nullptr : P + off; };
    k::rmsnorm_forward(xn.data(), rstd.data(), x.data(), P + o.attn_norm, n, D, eps);
    float* q_dst = c.qk_norm ? q_raw.data() : q.data();
    float* k_dst = c.qk_norm ? k_raw.data() : k_new;
    k::linear_forward(q_dst, xn.data(), P + o.wq, bias(o.bq), n, D, Q);
    k::linear_forward(k_dst, xn.data(), P + o.wk, bias(o.bk), n, D, KV);
    k::linear_forward(v_new, xn.data(), P + o.wv, bias(o.bv), n, D, KV);
    if (c.qk_norm) {
      k::rmsnorm_forward(q.data(), rstd.data(), q_raw.data(), P + o.q_norm, int64_t(n) * H, hd,
                         eps);
      k::rmsnorm_forward(k_new, rstd.data(), k_raw.data(), P + o.k_norm, int64_t(n) * KVH, hd, eps);
    }
    k::rope_forward(q.data(), rel.data(), n, H, hd, cos.data(), sin.data());
    k::rope_forward(k_new, rel.data(), n, KVH, hd, cos.data(), sin.data());
    k::attention_decode(att.data(), q.data(), kl, vl, n, past, H, KVH, hd);
    k::linear_forward(x.data(), att.data(), P + o.wo, nullptr, n, Q, D, /*accumulate=*/true);
    k::rmsnorm_forward(xn.data(), rstd.data(), x.data(), P + o.ffn_norm, n, D, eps);
    k::linear_forward(gate.data(), xn.data(), P + o.w_gate, nullptr, n, D, F);
    k::linear_forward(up.data(), xn.data(), P + o.w_up, nullptr, n, D, F);
    k::swiglu_forward(hid.data(), gate.data(), up.data(), int64_t(n) * F);
    k::linear_forward(x.data(), hid.data(), P + o.w_down, nullptr, n, F, D, /*accumulate=*/true);
  }
  const float* last = x.data() + size_t(n - 1) * D;
  k::rmsnorm_forward(xn.data(), rstd.data(), last, P + lay.final_norm, 1, D, eps);
  k::linear_forward(logits_last, xn.data(), P + lay.lm_head, nullptr, 1, D, c.vocab_size);
  cache.length_ += n;
}

}  // namespace still
