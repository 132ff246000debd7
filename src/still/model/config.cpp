#include "still/model/config.h"

#include <type_traits>

#include "still/io/atomic_file.h"
#include "still/util/error.h"
#include "still/util/json_number.h"

namespace still {

void LlamaConfig::validate() const {
  auto pos = [](int v, const char* name) {
    require(v > 0, std::string("config: ") + name + " must be positive (got " +
                       std::to_string(v) + ")");
  };
  pos(dim, "dim");
  pos(n_layers, "n_layers");
  pos(n_heads, "n_heads");
  pos(n_kv_heads, "n_kv_heads");
  pos(head_dim, "head_dim");
  pos(ffn_dim, "ffn_dim");
  pos(vocab_size, "vocab_size");
  pos(max_seq, "max_seq");
  require(n_heads % n_kv_heads == 0,
          "config: n_heads (" + std::to_string(n_heads) + ") must be a multiple of n_kv_heads (" +
              std::to_string(n_kv_heads) + ")");
  require(head_dim % 2 == 0, "config: head_dim (" + std::to_string(head_dim) +
                                 ") must be even for rotary embeddings");
  require(rope_theta > 0, "config: rope_theta must be positive");
  require(norm_eps > 0, "config: norm_eps must be positive");
  require(dim <= (1 << 16) && n_layers <= 1024 && vocab_size <= (1 << 24) && ffn_dim <= (1 << 20) &&
              max_seq <= (1 << 24) && n_heads <= 1024,
          "config: a dimension is implausibly large; check the file");
}

int64_t LlamaConfig::num_params() const {
  int64_t d = dim, v = vocab_size;
  int64_t per_layer = d /*attn norm*/ + d * q_dim() + 2 * d * kv_dim() + int64_t(q_dim()) * d +
                      d /*ffn norm*/ + 3 * d * ffn_dim;
  if (qkv_bias) per_layer += q_dim() + 2 * kv_dim();
  if (qk_norm) per_layer += 2 * head_dim;
  return v * d + n_layers * per_layer + d + (tied_embeddings ? 0 : v * d);
}

int64_t LlamaConfig::num_matmul_params() const {
  int64_t d = dim;
  int64_t per_layer = d * q_dim() + 2 * d * kv_dim() + int64_t(q_dim()) * d + 3 * d * ffn_dim;
  return n_layers * per_layer + int64_t(vocab_size) * d;
}

std::vector<std::string> LlamaConfig::preset_names() { return {"stories15m", "small", "tiny"}; }

LlamaConfig LlamaConfig::preset(const std::string& name) {
  LlamaConfig c;
  if (name == "stories15m") {
    c.dim = 288; c.n_layers = 6; c.n_heads = 6; c.n_kv_heads = 6; c.ffn_dim = 768;
    c.vocab_size = 32000; c.max_seq = 256;
  } else if (name == "small") {
    c.dim = 512; c.n_layers = 8; c.n_heads = 8; c.n_kv_heads = 8; c.ffn_dim = 1376;
    c.vocab_size = 8192; c.max_seq = 512;
  } else if (name == "tiny") {
    c.dim = 64; c.n_layers = 2; c.n_heads = 4; c.n_kv_heads = 2; c.ffn_dim = 172;
    c.vocab_size = 256; c.max_seq = 128; c.tied_embeddings = true;
  } else {
    std::string known;
    for (auto& n : preset_names()) known += (known.empty() ? "" : ", ") + n;
    throw Error("unknown config preset '" + name + "' (known: " + known +
                "; or pass a JSON file)");
  }
  c.head_dim = c.dim / c.n_heads;
  c.validate();
  return c;
}

namespace {

// The JSON value as a T, range-checked before conversion (util/json_number.h).
template <typename T>
T checked_get(const nlohmann::json& v, const char* key) {
  if constexpr (std::is_same_v<T, bool>) {
    require(v.is_boolean(), "config: ", key, " must be true or false (got ", v.dump(), ")");
    return v.get<bool>();
  } else {
    constexpr bool integral = std::is_integral_v<T>;
    require(integral ? v.is_number_integer() : v.is_number(), "config: ", key, " must be ",
            integral ? "an integer" : "a number", " (got ", v.dump(), ")");
    std::optional<T> x = json_number_as<T>(v);
    require(x.has_value(), "config: ", key, " = ", v.dump(), " is out of range; fix the file");
    return *x;
  }
}

template <typename T>
bool get_any(const nlohmann::json& j, std::initializer_list<const char*> keys, T& out) {
  for (const char* k : keys) {
    auto it = j.find(k);
    if (it != j.end() && !it->is_null()) {
      out = checked_get<T>(*it, k);
      return true;
    }
  }
  return false;
}

// A token id: an integer >= 0, or a list of them (Llama 3.1 lists several EOS ids: the
// first one is kept).
int token_id(const nlohmann::json& v, const char* key) {
  if (v.is_array()) return v.empty() ? -1 : token_id(v[0], key);
  int id = checked_get<int>(v, key);
  require(id >= 0, "config: ", key, " must not be negative (got ", id, ")");
  return id;
}

bool json_true(const nlohmann::json& j, const char* key) {
  return j.contains(key) && j[key].is_boolean() && j[key].get<bool>();
}

// HF fields that change the math and that still does not implement: refused, never
// ignored (a model loaded without them would silently compute something else).
void refuse_unimplemented(const nlohmann::json& j, const LlamaConfig& c) {
  if (j.contains("hidden_act") && !j["hidden_act"].is_null()) {
    const auto& act = j["hidden_act"];
    require(act == "silu" || act == "swish", "config: hidden_act ", act.dump(),
            " is not supported (still implements silu/swish only)");
  }
  // Qwen2 configs carry a sliding_window that use_sliding_window=false switches off.
  const bool sliding_off = j.contains("use_sliding_window") && j["use_sliding_window"] == false;
  if (!sliding_off && j.contains("sliding_window") && !j["sliding_window"].is_null()) {
    int w = checked_get<int>(j["sliding_window"], "sliding_window");
    require(w >= c.max_seq, "config: sliding_window ", w, " is smaller than the ", c.max_seq,
            " positions of max_position_embeddings; sliding-window attention is not "
            "implemented yet");
  }
  if (j.contains("layer_types") && j["layer_types"].is_array())
    for (const auto& t : j["layer_types"])
      require(t == "full_attention", "config: layer_types holds ", t.dump(),
              "; only full_attention layers are implemented");
  // still's own files write qkv_bias; HF's attention_bias also puts a bias on o_proj.
  require(j.contains("qkv_bias") || c.architecture == "Qwen2ForCausalLM" ||
              !json_true(j, "attention_bias"),
          "config: attention_bias (biases on q/k/v/o projections) is not implemented");
  require(!json_true(j, "mlp_bias"), "config: mlp_bias (biases in the MLP) is not implemented");
  if (j.contains("partial_rotary_factor") && !j["partial_rotary_factor"].is_null())
    require(checked_get<float>(j["partial_rotary_factor"], "partial_rotary_factor") == 1.0f,
            "config: partial_rotary_factor ", j["partial_rotary_factor"].dump(),
            " is not implemented (rotary embeddings cover the whole head)");
  if (c.rope_scaling.is_object()) {
    std::string type = "default";
    for (const char* k : {"rope_type", "type"})
      if (c.rope_scaling.contains(k) && c.rope_scaling[k].is_string())
        type = c.rope_scaling[k].get<std::string>();
    require(type == "default" || type == "linear" || type == "llama3",
            "config: rope_scaling type '", type,
            "' is not implemented (still implements default, linear and llama3)");
  } else {
    require(c.rope_scaling.is_null(), "config: rope_scaling must be an object or null");
  }
}

}  // namespace

LlamaConfig LlamaConfig::from_json(const nlohmann::json& j) {
  require(j.is_object(), "config: expected a JSON object");
  LlamaConfig c;
  try {
    auto req = [&](std::initializer_list<const char*> keys, int& out) {
      if (!get_any(j, keys, out))
        throw Error(std::string("config: missing required field '") + *keys.begin() + "'");
    };
    req({"dim", "hidden_size"}, c.dim);
    req({"n_layers", "num_hidden_layers"}, c.n_layers);
    req({"n_heads", "num_attention_heads"}, c.n_heads);
    req({"ffn_dim", "intermediate_size"}, c.ffn_dim);
    req({"vocab_size"}, c.vocab_size);
    c.n_kv_heads = c.n_heads;
    get_any(j, {"n_kv_heads", "num_key_value_heads"}, c.n_kv_heads);
    c.max_seq = 0;
    get_any(j, {"max_seq", "max_position_embeddings"}, c.max_seq);
    if (c.max_seq == 0) throw Error("config: missing required field 'max_seq'");
    if (!get_any(j, {"head_dim"}, c.head_dim)) {
      require(c.n_heads > 0, "config: n_heads must be positive (got ", c.n_heads, ")");
      require(c.dim % c.n_heads == 0,
              "config: dim (" + std::to_string(c.dim) + ") is not divisible by n_heads (" +
                  std::to_string(c.n_heads) + "); set head_dim explicitly or fix the shapes");
      c.head_dim = c.dim / c.n_heads;
    }
    get_any(j, {"rope_theta"}, c.rope_theta);
    get_any(j, {"norm_eps", "rms_norm_eps"}, c.norm_eps);
    get_any(j, {"tied_embeddings", "tie_word_embeddings"}, c.tied_embeddings);
    get_any(j, {"qkv_bias"}, c.qkv_bias);
    get_any(j, {"qk_norm"}, c.qk_norm);
    for (auto [key, out] : {std::pair{"bos_token_id", &c.bos_token_id},
                            std::pair{"eos_token_id", &c.eos_token_id}}) {
      auto it = j.find(key);
      if (it != j.end() && !it->is_null()) *out = token_id(*it, key);
    }
    if (j.contains("rope_scaling")) c.rope_scaling = j["rope_scaling"];
    if (j.contains("architectures") && j["architectures"].is_array() && !j["architectures"].empty())
      c.architecture = j["architectures"][0].get<std::string>();
    else if (j.contains("architecture"))
      c.architecture = j["architecture"].get<std::string>();
    else if (j.contains("model_type") && j["model_type"].is_string()) {
      static const std::pair<const char*, const char*> by_type[] = {
          {"llama", "LlamaForCausalLM"}, {"mistral", "MistralForCausalLM"},
          {"qwen2", "Qwen2ForCausalLM"}, {"qwen3", "Qwen3ForCausalLM"}};
      for (auto [t, a] : by_type)
        if (j["model_type"] == t) c.architecture = a;
    }
    // Qwen2 always has qkv bias; Qwen3 always has q/k norm (their configs don't say so).
    if (c.architecture == "Qwen2ForCausalLM" && !j.contains("qkv_bias")) c.qkv_bias = true;
    if (c.architecture == "Qwen3ForCausalLM" && !j.contains("qk_norm")) c.qk_norm = true;
    refuse_unimplemented(j, c);
  } catch (const nlohmann::json::exception& e) {
    throw Error(std::string("config: a field has the wrong type (") + e.what() + ")");
  }
  c.validate();
  return c;
}

LlamaConfig LlamaConfig::load(const std::string& name_or_path) {
  if (!file_exists(name_or_path)) {
    bool looks_like_path = name_or_path.find('/') != std::string::npos ||
                           name_or_path.find(".json") != std::string::npos;
    if (looks_like_path) throw Error("config file " + name_or_path + " does not exist");
    return preset(name_or_path);
  }
  auto j = nlohmann::json::parse(read_file(name_or_path), nullptr, false);
  require(!j.is_discarded(), name_or_path + " is not valid JSON");
  try {
    return from_json(j);
  } catch (const Error& e) {
    throw Error(name_or_path + ": " + e.what());
  }
}

nlohmann::json LlamaConfig::to_hf_json() const {
  nlohmann::json j;
  j["architectures"] = {architecture};
  std::string mt = "llama";
  if (architecture == "MistralForCausalLM") mt = "mistral";
  if (architecture == "Qwen2ForCausalLM") mt = "qwen2";
  if (architecture == "Qwen3ForCausalLM") mt = "qwen3";
  j["model_type"] = mt;
  j["hidden_size"] = dim;
  j["num_hidden_layers"] = n_layers;
  j["num_attention_heads"] = n_heads;
  j["num_key_value_heads"] = n_kv_heads;
  j["head_dim"] = head_dim;
  j["intermediate_size"] = ffn_dim;
  j["vocab_size"] = vocab_size;
  j["max_position_embeddings"] = max_seq;
  j["rope_theta"] = rope_theta;
  j["rms_norm_eps"] = norm_eps;
  j["tie_word_embeddings"] = tied_embeddings;
  j["attention_bias"] = qkv_bias;
  j["qkv_bias"] = qkv_bias;
  j["qk_norm"] = qk_norm;
  j["hidden_act"] = "silu";
  j["torch_dtype"] = "float32";
  j["rope_scaling"] = rope_scaling;
  if (bos_token_id >= 0) j["bos_token_id"] = bos_token_id;
  if (eos_token_id >= 0) j["eos_token_id"] = eos_token_id;
  return j;
}

bool operator==(const LlamaConfig& a, const LlamaConfig& b) {
  return a.architecture == b.architecture && a.dim == b.dim && a.n_layers == b.n_layers &&
         a.n_heads == b.n_heads && a.n_kv_heads == b.n_kv_heads && a.head_dim == b.head_dim &&
         a.ffn_dim == b.ffn_dim && a.vocab_size == b.vocab_size && a.max_seq == b.max_seq &&
         a.rope_theta == b.rope_theta && a.norm_eps == b.norm_eps &&
         a.tied_embeddings == b.tied_embeddings && a.qkv_bias == b.qkv_bias &&
         a.qk_norm == b.qk_norm && a.rope_scaling == b.rope_scaling;
}

}  // namespace still
