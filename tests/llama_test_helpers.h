// Small random models and batches for the engine tests (test_llama*.cpp).
#pragma once
#include <string>
#include <vector>

#include "still/data/batch.h"
#include "still/model/config.h"
#include "still/model/llama.h"
#include "still/util/rng.h"

namespace still::testing {

struct Variant {
  std::string name;
  int dim = 32, n_layers = 2, n_heads = 4, n_kv_heads = 4, head_dim = 8, ffn_dim = 172;
  int vocab = 37;
  bool tied = false, qkv_bias = false, qk_norm = false;
  bool llama3_rope = false;
};

inline LlamaConfig make_config(const Variant& v) {
  LlamaConfig c;
  c.dim = v.dim;
  c.n_layers = v.n_layers;
  c.n_heads = v.n_heads;
  c.n_kv_heads = v.n_kv_heads;
  c.head_dim = v.head_dim;
  c.ffn_dim = v.ffn_dim;
  c.vocab_size = v.vocab;
  c.max_seq = 64;
  c.norm_eps = 1e-5f;
  c.rope_theta = 10000.0f;
  c.tied_embeddings = v.tied;
  c.qkv_bias = v.qkv_bias;
  c.qk_norm = v.qk_norm;
  if (v.llama3_rope)
    c.rope_scaling = {{"rope_type", "llama3"},
                      {"factor", 8.0},
                      {"low_freq_factor", 1.0},
                      {"high_freq_factor", 4.0},
                      {"original_max_position_embeddings", 16}};
  c.validate();
  return c;
}

// B rows of T tokens; row 1 holds two documents (positions restart at `split`); a few targets
// are masked with -1.
inline Batch make_batch(int B, int T, int vocab, uint64_t seed, int split = 9) {
  Batch b;
  b.resize(B, T);
  Rng rng(seed);
  for (int r = 0; r < B; ++r)
    for (int t = 0; t < T; ++t) {
      const size_t i = size_t(r * T + t);
      b.tokens[i] = int32_t(rng.below(uint64_t(vocab)));
      b.targets[i] = int32_t(rng.below(uint64_t(vocab)));
      b.positions[i] = (r == 1 && t >= split) ? t - split : t;
    }
  b.targets[1] = -1;
  if (B > 1 && split <= T)  // row 1's first document exists only then (else: out of bounds)
    b.targets[size_t(T + split - 1)] = -1;  // last token of a document predicts nothing
  if (T > 5) b.targets[size_t(T) - 4] = -1;
  return b;
}

// Init, then widen the weights (std 0.02 -> 0.08) so every block matters and gradients are
// well above float noise in the finite-difference check.
inline void init_wide(LlamaModel& m, uint64_t seed) {
  m.init_random(seed);
  for (auto& t : m.layout().tensors())
    if (t.shape.size() == 2)
      for (size_t i = 0; i < t.numel; ++i) m.params()[t.offset + i] *= 4.0f;
    else if (t.name.find("bias") != std::string::npos)
      for (size_t i = 0; i < t.numel; ++i) m.params()[t.offset + i] = 0.1f * float(i % 7) - 0.3f;
    else  // norms: not all ones, so their gradients are exercised
      for (size_t i = 0; i < t.numel; ++i) m.params()[t.offset + i] = 1.0f + 0.05f * float(i % 5);
}

}  // namespace still::testing
