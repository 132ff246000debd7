// Small Llama-family configs in every flavour the format code must handle, and random
// parameters for them (for format round trips that don't need the engine).
#pragma once
#include <string>
#include <vector>

#include "still/model/config.h"
#include "still/model/params.h"
#include "still/util/rng.h"

namespace still::fixtures {

struct Flavour {
  std::string name;
  LlamaConfig config;
};

inline LlamaConfig base_config() {
  LlamaConfig c;
  c.dim = 64;
  c.n_layers = 2;
  c.n_heads = 4;
  c.n_kv_heads = 4;
  c.head_dim = 16;
  c.ffn_dim = 96;
  c.vocab_size = 288;
  c.max_seq = 64;
  c.rope_theta = 10000.0f;
  c.norm_eps = 1e-5f;
  return c;
}

// MHA and GQA, tied and untied, Llama and Qwen flavoured, with rope scaling variants.
inline std::vector<Flavour> flavours() {
  std::vector<Flavour> v;
  LlamaConfig c = base_config();
  v.push_back({"llama_mha_untied", c});
  c.n_kv_heads = 2;
  c.tied_embeddings = true;
  c.rope_theta = 500000.0f;
  c.rope_scaling = {{"rope_type", "llama3"},
                    {"factor", 8.0},
                    {"low_freq_factor", 1.0},
                    {"high_freq_factor", 4.0},
                    {"original_max_position_embeddings", 8192}};
  v.push_back({"llama31_gqa_tied", c});
  c = base_config();
  c.architecture = "MistralForCausalLM";
  c.n_kv_heads = 1;
  c.rope_scaling = {{"rope_type", "linear"}, {"factor", 2.0}};
  v.push_back({"mistral_mqa_linear", c});
  c = base_config();
  c.architecture = "Qwen2ForCausalLM";
  c.n_kv_heads = 2;
  c.qkv_bias = true;
  c.tied_embeddings = true;
  c.rope_theta = 1000000.0f;
  c.norm_eps = 1e-6f;
  v.push_back({"qwen2_gqa_tied", c});
  c = base_config();
  c.architecture = "Qwen3ForCausalLM";
  c.n_kv_heads = 2;
  c.head_dim = 32;  // Qwen3 sets head_dim independently of dim / n_heads
  c.qk_norm = true;
  c.rope_theta = 1000000.0f;
  v.push_back({"qwen3_gqa_untied", c});
  for (auto& f : v) f.config.validate();
  return v;
}

inline std::vector<float> random_params(const LlamaConfig& c, uint64_t seed) {
  ParamLayout layout(c);
  std::vector<float> p(layout.total(), 0.0f);
  Rng rng(seed);
  for (auto& t : layout.tensors()) {
    bool norm = t.shape.size() == 1 && t.name.find("bias") == std::string::npos;
    for (size_t i = 0; i < t.numel; ++i)
      p[t.offset + i] = norm ? float(1.0 + 0.1 * rng.normal()) : float(0.05 * rng.normal());
  }
  return p;
}

}  // namespace still::fixtures
