// LlamaConfig: every shape and flag of a Llama-family decoder (Llama 2/3, Mistral, Qwen2/3,
// SmolLM, TinyLlama). Nothing is derived by formula except head_dim's default (dim/heads).
#pragma once
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace still {

struct LlamaConfig {
  std::string architecture = "LlamaForCausalLM";
  int dim = 0;          // hidden size
  int n_layers = 0;
  int n_heads = 0;
  int n_kv_heads = 0;   // == n_heads for MHA, fewer for GQA
  int head_dim = 0;     // usually dim / n_heads; Qwen3 sets it independently
  int ffn_dim = 0;      // SwiGLU hidden size
  int vocab_size = 0;
  int max_seq = 0;      // training sequence length / max positions
  float rope_theta = 10000.0f;
  float norm_eps = 1e-5f;
  bool tied_embeddings = false;
  bool qkv_bias = false;  // Qwen2
  bool qk_norm = false;   // Qwen3: RMSNorm over each head's q and k before RoPE
  nlohmann::json rope_scaling = nullptr;  // HF "rope_scaling" object, kept verbatim
  int bos_token_id = -1, eos_token_id = -1;

  // Throws still::Error naming the first inconsistent field.
  void validate() const;

  int q_dim() const { return n_heads * head_dim; }
  int kv_dim() const { return n_kv_heads * head_dim; }
  // Number of parameters (embedding included once when tied).
  int64_t num_params() const;
  // Parameters that take part in matmuls per token (for 6·N FLOP counts): everything
  // but the input embedding lookup (the LM head counts, tied or not).
  int64_t num_matmul_params() const;

  // Presets: "stories15m", "small", "tiny" (for tests and demos).
  static LlamaConfig preset(const std::string& name);
  static std::vector<std::string> preset_names();
  // Accepts our field names (dim, n_layers, ...) or Hugging Face config.json names
  // (hidden_size, num_hidden_layers, ...). Missing required fields are an error.
  static LlamaConfig from_json(const nlohmann::json& j);
  // `name_or_path` is a preset name or a JSON file.
  static LlamaConfig load(const std::string& name_or_path);
  // Hugging Face config.json (what transformers reads).
  nlohmann::json to_hf_json() const;
};

bool operator==(const LlamaConfig& a, const LlamaConfig& b);

}  // namespace still
