#include "still/modelio/gguf_llama.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <map>

#include "still/util/error.h"

namespace still {
namespace {

// HF's Llama 3.1 rope scaling as per-dimension divisors of the base frequency.
std::vector<double> llama3_divisors(int head_dim, double theta, double factor, double lf, double hf,
                                    double orig) {
  std::vector<double> r(size_t(head_dim / 2));
  for (int i = 0; i < head_dim / 2; ++i) {
    const double f = std::pow(theta, -2.0 * i / head_dim);
    const double wavelen = 2.0 * M_PI / f;
    double g = f;
    if (wavelen > orig / lf) {
      g = f / factor;
    } else if (wavelen >= orig / hf) {
      const double smooth = (orig / wavelen - lf) / (hf - lf);
      g = (1.0 - smooth) * f / factor + smooth * f;
    }
    r[size_t(i)] = f / g;
  }
  return r;
}

double json_num(const nlohmann::json& j, const char* key, double dflt) {
  auto it = j.find(key);
  return it != j.end() && it->is_number() ? it->get<double>() : dflt;
}

std::string rope_type_of(const nlohmann::json& rs) {
  if (!rs.is_object()) return "default";
  for (const char* k : {"rope_type", "type"})
    if (rs.contains(k) && rs[k].is_string()) return rs[k].get<std::string>();
  return "default";
}

// Recovers HF's llama3 rope_scaling from llama.cpp's rope_freqs divisors: the divisors are
// 1 for short wavelengths, `factor` for long ones and a ramp linear in 1/wavelength between.
nlohmann::json llama3_from_divisors(const std::vector<float>& r, int head_dim, double theta,
                                    double orig, const std::string& what) {
  double factor = 1;
  for (float x : r) factor = std::max(factor, double(x));
  if (factor < 1 + 1e-6) return nullptr;
  auto xof = [&](size_t i) {
    return orig * std::pow(theta, -2.0 * double(i) / head_dim) / (2 * M_PI);
  };
  double max_full_x = -1e300, min_kept_x = 1e300;
  std::vector<std::pair<double, double>> ramp;  // (x, smooth)
  for (size_t i = 0; i < r.size(); ++i) {
    double x = xof(i);
    if (std::fabs(r[i] - 1.0) < 1e-5) {
      min_kept_x = std::min(min_kept_x, x);
    } else if (std::fabs(r[i] - factor) < 1e-5 * factor) {
      max_full_x = std::max(max_full_x, x);
    } else {
      ramp.emplace_back(x, (1.0 / r[i] - 1.0 / factor) / (1.0 - 1.0 / factor));
    }
  }
  double lf, hf;
  if (ramp.size() >= 2) {
    auto [x0, s0] = ramp.front();
    auto [x1, s1] = ramp.back();
    double a = (s1 - s0) / (x1 - x0), b = s0 - a * x0;
    lf = -b / a;
    hf = lf + 1 / a;
  } else {
    double lo = max_full_x > -1e299 ? max_full_x : 0, hi = min_kept_x < 1e299 ? min_kept_x : lo + 2;
    if (ramp.size() == 1) {
      auto [x, s] = ramp[0];
      lf = (lo + x) / 2;
      hf = lf + (x - lf) / s;
    } else {
      lf = lo + (hi - lo) / 3;
      hf = lo + 2 * (hi - lo) / 3;
    }
  }
  nlohmann::json j = {{"rope_type", "llama3"},
                      {"factor", factor},
                      {"low_freq_factor", lf},
                      {"high_freq_factor", hf},
                      {"original_max_position_embeddings", orig}};
  auto check = llama3_divisors(head_dim, theta, factor, lf, hf, orig);
  for (size_t i = 0; i < r.size(); ++i)
    require(std::fabs(check[i] - r[i]) <= 1e-3 * r[i],
            what + ": rope_freqs.weight does not follow Llama 3.1 rope scaling (dimension " +
                std::to_string(i) + "); this model's RoPE is not supported");
  return j;
}

}  // namespace

std::string gguf_arch_for(const LlamaConfig& c) {
  const std::string& a = c.architecture;
  if (a == "Qwen2ForCausalLM") {
    require(!c.qk_norm, "export: Qwen2 with q/k norm has no llama.cpp architecture");
    return "qwen2";
  }
  if (a == "Qwen3ForCausalLM") {
    require(c.qk_norm && !c.qkv_bias, "export: llama.cpp's qwen3 needs q/k norm and no qkv bias");
    return "qwen3";
  }
  require(a == "LlamaForCausalLM" || a == "MistralForCausalLM",
          "export: architecture " + a +
              " has no GGUF mapping (supported: Llama, Mistral, Qwen2, Qwen3)");
  require(!c.qk_norm,
          "export: a Llama model with q/k norm has no llama.cpp architecture; use "
          "Qwen3ForCausalLM");
  return "llama";
}

bool gguf_arch_permutes_qk(const std::string& arch) { return arch == "llama"; }

LlamaConfig config_from_gguf(const GgufFile& f) {
  const std::string arch = f.architecture();
  const std::string& p = f.path();
  LlamaConfig c;
  if (arch == "llama") {
    c.architecture = "LlamaForCausalLM";
  } else if (arch == "qwen2") {
    c.architecture = "Qwen2ForCausalLM";
  } else if (arch == "qwen3") {
    c.architecture = "Qwen3ForCausalLM";
  } else {
    throw Error(p + ": GGUF architecture '" + arch +
                "' is not supported (supported: llama, qwen2, qwen3)");
  }
  auto key = [&](const char* k) { return arch + "." + k; };
  auto get_int = [&](const char* k) -> int {
    int64_t v = f.get_int(key(k));
    require(v > 0 && v < (int64_t(1) << 31),
            p + ": " + key(k) + " = " + std::to_string(v) + " is out of range");
    return int(v);
  };
  c.dim = get_int("embedding_length");
  c.n_layers = get_int("block_count");
  c.ffn_dim = get_int("feed_forward_length");
  c.n_heads = get_int("attention.head_count");
  c.n_kv_heads = c.n_heads;
  if (const GgufValue* kv = f.find(key("attention.head_count_kv"))) {
    if (kv->is_array()) {  // per-layer counts: we only support a uniform model
      auto v = kv->to_ints(p + ": " + key("attention.head_count_kv"));
      require(!v.empty(), p + ": attention.head_count_kv is empty");
      for (auto x : v)
        require(x == v[0], p + ": layers with different KV head counts are not supported");
      c.n_kv_heads = int(v[0]);
    } else {
      c.n_kv_heads = get_int("attention.head_count_kv");
    }
  }
  c.max_seq = get_int("context_length");
  c.head_dim = f.has(key("attention.key_length"))
                   ? get_int("attention.key_length")
                   : (c.dim % c.n_heads == 0 ? c.dim / c.n_heads : 0);
  if (f.has(key("attention.value_length")))
    require(get_int("attention.value_length") == c.head_dim,
            p + ": different key and value head sizes are not supported");
  if (f.has(key("rope.dimension_count")))
    require(
        get_int("rope.dimension_count") == c.head_dim,
        p + ": partial rotary embeddings (rope.dimension_count != head size) are not supported");
  c.rope_theta = float(f.get_float(key("rope.freq_base"), 10000.0));
  c.norm_eps = float(f.get_float(key("attention.layer_norm_rms_epsilon"), 1e-5));
  const GgufTensorInfo& emb = f.tensor("token_embd.weight");
  require(
      emb.dims.size() == 2 && emb.dims[0] == c.dim,
      p + ": token_embd.weight does not have rows of embedding_length " + std::to_string(c.dim));
  require(emb.dims[1] < (int64_t(1) << 31), p + ": token_embd.weight has too many rows");
  c.vocab_size = int(emb.dims[1]);
  c.tied_embeddings = f.find_tensor("output.weight") == nullptr;
  c.qkv_bias = f.find_tensor("blk.0.attn_q.bias") != nullptr;
  c.qk_norm = f.find_tensor("blk.0.attn_q_norm.weight") != nullptr;
  require(!(arch == "llama" && c.qk_norm), p + ": llama GGUF with q/k norm is not supported");
  c.bos_token_id = int(f.get_int("tokenizer.ggml.bos_token_id", -1));
  c.eos_token_id = int(f.get_int("tokenizer.ggml.eos_token_id", -1));

  std::string scaling = f.get_string(key("rope.scaling.type"), "none");
  if (scaling == "linear") {
    double factor = f.get_float(key("rope.scaling.factor"), 1.0);
    if (factor != 1.0) c.rope_scaling = {{"rope_type", "linear"}, {"factor", factor}};
  } else if (scaling != "none") {
    throw Error(p + ": rope scaling '" + scaling +
                "' is not supported (supported: linear, "
                "Llama 3.1 rope_freqs)");
  }
  if (const GgufTensorInfo* rf = f.find_tensor("rope_freqs.weight")) {
    require(rf->type == GgmlType::kF32 && rf->numel() == c.head_dim / 2,
            p + ": rope_freqs.weight must be F32 with head_dim/2 = " +
                std::to_string(c.head_dim / 2) + " elements");
    std::vector<float> r(size_t(c.head_dim / 2));
    std::memcpy(r.data(), f.tensor_data(*rf), r.size() * 4);
    double orig = double(f.get_int(key("rope.scaling.original_context_length"), 8192));
    c.rope_scaling = llama3_from_divisors(r, c.head_dim, c.rope_theta, orig, p);
  }
  try {
    c.validate();
  } catch (const Error& e) {
    throw Error(p + ": " + e.what());
  }
  return c;
}

std::vector<float> gguf_rope_freqs(const LlamaConfig& c) {
  if (rope_type_of(c.rope_scaling) != "llama3") return {};
  const auto& rs = c.rope_scaling;
  auto d =
      llama3_divisors(c.head_dim, c.rope_theta, json_num(rs, "factor", 8.0),
                      json_num(rs, "low_freq_factor", 1.0), json_num(rs, "high_freq_factor", 4.0),
                      json_num(rs, "original_max_position_embeddings", 8192));
  return std::vector<float>(d.begin(), d.end());
}

void write_gguf_hparams(const LlamaConfig& c, GgufWriter& w) {
  const std::string arch = gguf_arch_for(c);
  w.set_string("general.architecture", arch);
  auto k = [&](const char* s) { return arch + "." + s; };
  w.set_u32(k("context_length"), uint32_t(c.max_seq));
  w.set_u32(k("embedding_length"), uint32_t(c.dim));
  w.set_u32(k("block_count"), uint32_t(c.n_layers));
  w.set_u32(k("feed_forward_length"), uint32_t(c.ffn_dim));
  w.set_u32(k("attention.head_count"), uint32_t(c.n_heads));
  w.set_u32(k("attention.head_count_kv"), uint32_t(c.n_kv_heads));
  w.set_u32(k("attention.key_length"), uint32_t(c.head_dim));
  w.set_u32(k("attention.value_length"), uint32_t(c.head_dim));
  w.set_u32(k("rope.dimension_count"), uint32_t(c.head_dim));
  w.set_f32(k("rope.freq_base"), c.rope_theta);
  w.set_f32(k("attention.layer_norm_rms_epsilon"), c.norm_eps);
  w.set_u32(k("vocab_size"), uint32_t(c.vocab_size));
  const std::string rt = rope_type_of(c.rope_scaling);
  if (rt == "linear") {
    w.set_string(k("rope.scaling.type"), "linear");
    w.set_f32(k("rope.scaling.factor"), float(json_num(c.rope_scaling, "factor", 1.0)));
  } else if (rt == "llama3") {
    w.set_u32(k("rope.scaling.original_context_length"),
              uint32_t(json_num(c.rope_scaling, "original_max_position_embeddings", 8192)));
  } else {
    require(rt == "default", "export: rope_scaling type '" + rt +
                                 "' has no GGUF mapping in still (supported: linear, llama3)");
  }
}

std::string gguf_tensor_name(const std::string& hf) {
  static const std::map<std::string, std::string> top = {
      {"model.embed_tokens.weight", "token_embd.weight"},
      {"model.norm.weight", "output_norm.weight"},
      {"lm_head.weight", "output.weight"}};
  if (auto it = top.find(hf); it != top.end()) return it->second;
  static const std::map<std::string, std::string> layer = {
      {"input_layernorm.weight", "attn_norm.weight"},
      {"self_attn.q_proj.weight", "attn_q.weight"},
      {"self_attn.k_proj.weight", "attn_k.weight"},
      {"self_attn.v_proj.weight", "attn_v.weight"},
      {"self_attn.o_proj.weight", "attn_output.weight"},
      {"self_attn.q_proj.bias", "attn_q.bias"},
      {"self_attn.k_proj.bias", "attn_k.bias"},
      {"self_attn.v_proj.bias", "attn_v.bias"},
      {"self_attn.q_norm.weight", "attn_q_norm.weight"},
      {"self_attn.k_norm.weight", "attn_k_norm.weight"},
      {"post_attention_layernorm.weight", "ffn_norm.weight"},
      {"mlp.gate_proj.weight", "ffn_gate.weight"},
      {"mlp.up_proj.weight", "ffn_up.weight"},
      {"mlp.down_proj.weight", "ffn_down.weight"}};
  const std::string prefix = "model.layers.";
  if (hf.rfind(prefix, 0) != 0) return "";
  size_t dot = hf.find('.', prefix.size());
  if (dot == std::string::npos) return "";
  std::string n = hf.substr(prefix.size(), dot - prefix.size());
  auto it = layer.find(hf.substr(dot + 1));
  if (it == layer.end()) return "";
  return "blk." + n + "." + it->second;
}

void permute_qk_hf_to_gguf(const float* src, float* dst, int64_t rows, int64_t cols, int n_head) {
  const int64_t hd = rows / n_head, half = hd / 2;
  for (int64_t h = 0; h < n_head; ++h)
    for (int64_t i = 0; i < half; ++i)
      for (int64_t j = 0; j < 2; ++j) {
        const float* s = src + (h * hd + j * half + i) * cols;
        float* d = dst + (h * hd + 2 * i + j) * cols;
        std::copy(s, s + cols, d);
      }
}

void permute_qk_gguf_to_hf(const float* src, float* dst, int64_t rows, int64_t cols, int n_head) {
  const int64_t hd = rows / n_head, half = hd / 2;
  for (int64_t h = 0; h < n_head; ++h)
    for (int64_t i = 0; i < half; ++i)
      for (int64_t j = 0; j < 2; ++j) {
        const float* s = src + (h * hd + 2 * i + j) * cols;
        float* d = dst + (h * hd + j * half + i) * cols;
        std::copy(s, s + cols, d);
      }
}

}  // namespace still
