// Incremental decoding with KV caches: the model's block (model/block.h) over the new tokens
// of one or more sequences at once, attention reading each sequence's own cache.
#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

#include "still/kernels/attention.h"
#include "still/kernels/embedding.h"
#include "still/kernels/rmsnorm.h"
#include "still/kernels/rope.h"
#include "still/model/block.h"
#include "still/model/llama.h"
#include "still/util/error.h"

namespace still {

namespace k = kernels;

KVCache::KVCache(const LlamaConfig& config, int max_tokens)
    : capacity_(max_tokens), kv_dim_(config.kv_dim()), layers_(config.n_layers) {
  require(max_tokens > 0,
          "KV cache: capacity must be positive (got " + std::to_string(max_tokens) + ")");
  const size_t n = size_t(config.n_layers) * size_t(max_tokens) * size_t(config.kv_dim());
  k_.assign(n, 0.0f);
  v_.assign(n, 0.0f);
}

// Attention of a decode step: sequence s owns rows [row0[s], row0[s] + n) of the step; its new
// keys and values are appended to its cache, and each new token attends everything in the
// cache up to itself.
class CacheAttention final : public BlockAttention {
 public:
  CacheAttention(const LlamaConfig& c, const DecodeSeq* seqs, int n_seqs,
                 const std::vector<int64_t>& row0)
      : c_(c), seqs_(seqs), n_seqs_(n_seqs), row0_(row0) {}

  void forward(int layer, const BlockActs& a) override {
    const int64_t Q = c_.q_dim(), KV = c_.kv_dim(), QKV = Q + 2 * KV;
    for (int s = 0; s < n_seqs_; ++s) {
      KVCache& cache = *seqs_[s].cache;
      const int64_t r0 = row0_[size_t(s)], n = seqs_[s].n, past = cache.length_;
      float* kl = cache.k_.data() + size_t(layer) * size_t(cache.capacity_) * size_t(KV);
      float* vl = cache.v_.data() + size_t(layer) * size_t(cache.capacity_) * size_t(KV);
      for (int64_t t = 0; t < n; ++t) {
        const float* row = a.qkv + (r0 + t) * QKV;
        std::memcpy(kl + (past + t) * KV, row + Q, sizeof(float) * size_t(KV));
        std::memcpy(vl + (past + t) * KV, a.v + (r0 + t) * QKV, sizeof(float) * size_t(KV));
      }
      k::attention_decode(a.att + r0 * Q, a.qkv + r0 * QKV, kl, vl, int(n), past, c_.n_heads,
                          c_.n_kv_heads, c_.head_dim, QKV);
    }
  }

  double flops() const override {
    double f = 0;
    for (int s = 0; s < n_seqs_; ++s)
      f += 4.0 * seqs_[s].n * (seqs_[s].cache->length_ + seqs_[s].n) * c_.q_dim();
    return f;
  }

 private:
  const LlamaConfig& c_;
  const DecodeSeq* seqs_;
  int n_seqs_;
  const std::vector<int64_t>& row0_;
};

namespace {

void check_seq(const LlamaConfig& c, const DecodeSeq& s) {
  require(s.cache != nullptr && s.tokens != nullptr && s.logits_last != nullptr,
          "decode: a sequence needs a cache, tokens and a logits buffer");
  require(s.n > 0, "decode: no tokens given");
  const KVCache& cache = *s.cache;
  require(cache.capacity() > 0 && c.n_layers > 0, "decode: empty model or cache");
  for (int t = 0; t < s.n; ++t)
    require(s.tokens[t] >= 0 && s.tokens[t] < c.vocab_size, "decode: token ", s.tokens[t],
            " is outside the vocabulary of ", c.vocab_size);
  require(int64_t(cache.length()) + s.n <= cache.capacity(),
          "decode: the KV cache holds " + std::to_string(cache.capacity()) + " tokens; " +
              std::to_string(cache.length()) + " + " + std::to_string(s.n) +
              " would overflow it (start a new sequence or use a larger cache)");
}

}  // namespace

void decode_batch(const LlamaModel& model, const DecodeSeq* seqs, int n_seqs) {
  const LlamaConfig& c = model.config();
  require(n_seqs > 0, "decode: no sequences given");
  const int D = c.dim, hd = c.head_dim;
  std::vector<int64_t> row0(static_cast<size_t>(n_seqs));
  int64_t N = 0;
  for (int s = 0; s < n_seqs; ++s) {
    check_seq(c, seqs[s]);
    const KVCache& cache = *seqs[s].cache;
    require(cache.kv_dim_ == c.kv_dim() && cache.layers_ == c.n_layers,
            "decode: the KV cache was made for a different model configuration");
    for (int r = 0; r < s; ++r)
      require(seqs[r].cache != seqs[s].cache, "decode: a cache appears twice in one step");
    row0[size_t(s)] = N;
    N += seqs[s].n;
  }

  // Per-call buffers (several threads may decode with one model): the inputs of the rows, one
  // block's activations for N rows, and RoPE tables for each row's absolute position.
  std::vector<int32_t> tokens(static_cast<size_t>(N)), rope_rows(static_cast<size_t>(N));
  std::vector<float> cos(size_t(N) * size_t(hd / 2)), sin(cos.size());
  for (int s = 0; s < n_seqs; ++s) {
    const int64_t r0 = row0[size_t(s)];
    std::copy(seqs[s].tokens, seqs[s].tokens + seqs[s].n, tokens.begin() + r0);
    k::rope_tables(model.rope_inv_freq(), seqs[s].cache->length(), seqs[s].n,
                   cos.data() + r0 * (hd / 2), sin.data() + r0 * (hd / 2));
  }
  for (int64_t r = 0; r < N; ++r) rope_rows[size_t(r)] = int32_t(r);
  size_t floats = 0;
  assign_block_acts(nullptr, floats, c, N, false);
  std::vector<float> buffer(floats + size_t(N) * D);
  size_t off = 0;
  const BlockActs acts = assign_block_acts(buffer.data(), off, c, N, false);
  float* x = buffer.data() + off;  // the residual stream, updated in place by every block
  k::LinearScratch scratch;

  const ModelWeights& w = model.weights();
  const RopeRows rope{cos.data(), sin.data(), rope_rows.data()};
  CacheAttention attention(c, seqs, n_seqs, row0);
  k::embedding_forward(x, w.embed, tokens.data(), N);
  for (int l = 0; l < c.n_layers; ++l)
    block_forward(c, w.blocks[size_t(l)], acts, x, x, N, rope, attention, l, scratch);

  // The logits of each sequence's last token.
  std::vector<float> last(size_t(n_seqs) * D), normed(last.size()),
      rstd(static_cast<size_t>(n_seqs));
  for (int s = 0; s < n_seqs; ++s)
    std::memcpy(last.data() + size_t(s) * D, x + (row0[size_t(s)] + seqs[s].n - 1) * D,
                sizeof(float) * size_t(D));
  k::rmsnorm_forward(normed.data(), rstd.data(), last.data(), w.final_norm, n_seqs, D, c.norm_eps);
  std::vector<float> logits(size_t(n_seqs) * size_t(c.vocab_size));
  k::linear_forward(logits.data(), normed.data(), nullptr, w.lm_head, nullptr, n_seqs, false,
                    scratch);
  for (int s = 0; s < n_seqs; ++s) {
    std::memcpy(seqs[s].logits_last, logits.data() + size_t(s) * size_t(c.vocab_size),
                sizeof(float) * size_t(c.vocab_size));
    seqs[s].cache->length_ += seqs[s].n;
  }
}

void decode(const LlamaModel& model, KVCache& cache, const int32_t* tokens, int n,
            float* logits_last) {
  const DecodeSeq seq{&cache, tokens, n, logits_last};
  decode_batch(model, &seq, 1);
}

}  // namespace still
