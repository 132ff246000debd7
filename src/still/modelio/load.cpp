#include "still/modelio/load.h"

#include <cstring>
#include <optional>
#include <set>

#include "still/formats/gguf.h"
#include "still/formats/hf_model.h"
#include "still/formats/quant.h"
#include "still/io/atomic_file.h"
#include "still/model/q8_weights.h"
#include "still/modelio/gguf_llama.h"
#include "still/util/error.h"
#include "still/util/log.h"

namespace still {
namespace {

constexpr uint64_t kProgressBytes = 256ull << 20;

bool has_gguf_magic(const std::string& path) {
  FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) return false;
  char m[4] = {};
  size_t n = std::fread(m, 1, 4, f);
  std::fclose(f);
  return n == 4 && std::memcmp(m, "GGUF", 4) == 0;
}

std::string trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) s.pop_back();
  return s;
}

std::string shape_str(const std::vector<int64_t>& s) {
  std::string r = "[";
  for (size_t i = 0; i < s.size(); ++i) r += (i ? ", " : "") + std::to_string(s[i]);
  return r + "]";
}

// HF names that carry no weights a Llama model needs (old checkpoints store RoPE tables).
bool ignorable_hf_tensor(const std::string& name) {
  return name.find("rotary_emb.inv_freq") != std::string::npos;
}

void load_hf(const std::string& dir, const LlamaConfig& config, float* params) {
  HfModelFolder folder(dir);
  ParamLayout layout(config);
  std::set<std::string> used;
  uint64_t total = 0;
  for (auto& t : layout.tensors()) total += t.numel;
  std::optional<Progress> progress;  // only loads that take noticeable time show one
  if (total * 4 >= kProgressBytes) progress.emplace("loading " + dir, int64_t(total * 4), "B");
  uint64_t done = 0;
  for (auto& t : layout.tensors()) {
    folder.read_f32(t.name, t.shape, params + t.offset);
    used.insert(t.name);
    done += t.numel * 4;
    if (progress) progress->update(int64_t(done));
  }
  if (progress) progress->finish();
  for (auto& [name, ref] : folder.tensors()) {
    if (used.count(name) || ignorable_hf_tensor(name)) continue;
    if (name == "lm_head.weight" && config.tied_embeddings) continue;  // a stored copy of the tie
    throw Error(ref.file->path() + ": tensor '" + name + "' is not part of a " +
                config.architecture + " with this config.json " +
                "(unsupported architecture variant?)");
  }
}

// With `keep`, Q8_0 matrices stay in the file and are registered there instead of decoded.
void load_gguf(const GgufFile& f, const LlamaConfig& config, float* params, Q8Weights* keep) {
  const std::string& path = f.path();
  const std::string arch = f.architecture();
  const bool permute = gguf_arch_permutes_qk(arch);
  ParamLayout layout(config);
  std::set<std::string> used = {"rope_freqs.weight"};
  std::vector<float> tmp;
  uint64_t total = 0;
  for (auto& t : layout.tensors()) total += t.numel;
  std::optional<Progress> progress;
  if (total * 4 >= kProgressBytes) progress.emplace("loading " + path, int64_t(total * 4), "B");
  uint64_t done = 0;
  for (auto& t : layout.tensors()) {
    const std::string gname = gguf_tensor_name(t.name);
    const GgufTensorInfo* g = f.find_tensor(gname);
    require(g != nullptr, path + ": tensor '" + gname + "' (" + t.name + ") is missing");
    std::vector<int64_t> hf_shape(g->dims.rbegin(), g->dims.rend());
    require(hf_shape == t.shape, path + ": tensor '" + gname + "' has shape " +
                                     shape_str(hf_shape) + ", the model's hyperparameters imply " +
                                     shape_str(t.shape));
    used.insert(gname);
    float* out = params + t.offset;
    const bool is_q = t.name.find("self_attn.q_proj.") != std::string::npos;
    const bool is_k = t.name.find("self_attn.k_proj.") != std::string::npos;
    const std::string what = path + ": tensor '" + gname + "'";
    if (keep && g->type == GgmlType::kQ8_0 && t.shape.size() == 2) {
      std::vector<int32_t> row_of;  // HF row -> file row (llama.cpp's Q/K interleave)
      if (permute && (is_q || is_k)) {
        const int64_t n_head = is_q ? config.n_heads : config.n_kv_heads;
        const int64_t hd = t.shape[0] / n_head, half = hd / 2;
        row_of.resize(size_t(t.shape[0]));
        for (int64_t h = 0; h < n_head; ++h)
          for (int64_t i = 0; i < half; ++i)
            for (int64_t j = 0; j < 2; ++j)
              row_of[size_t(h * hd + j * half + i)] = int32_t(h * hd + 2 * i + j);
      }
      keep->add(t.offset, t.shape[0], t.shape[1], f.tensor_data(*g), std::move(row_of));
    } else if (permute && (is_q || is_k)) {
      tmp.resize(t.numel);
      dequantize(g->type, f.tensor_data(*g), tmp.data(), int64_t(t.numel), what);
      const int64_t rows = t.shape[0], cols = t.shape.size() > 1 ? t.shape[1] : 1;
      permute_qk_gguf_to_hf(tmp.data(), out, rows, cols, is_q ? config.n_heads : config.n_kv_heads);
    } else {
      dequantize(g->type, f.tensor_data(*g), out, int64_t(t.numel), what);
    }
    done += t.numel * 4;
    if (progress) progress->update(int64_t(done));
  }
  if (progress) progress->finish();
  for (auto& t : f.tensors())
    require(used.count(t.name) || (t.name == "output.weight" && config.tied_embeddings),
            path + ": tensor '" + t.name + "' is not part of a " + arch +
                " model with these hyperparameters (unsupported variant?)");
}

}  // namespace

ModelLocation locate_model(const std::string& path) {
  if (file_exists(path)) {
    require(has_gguf_magic(path), path + " is neither a GGUF file nor a model folder");
    return {ModelFormat::kGguf, path};
  }
  require(dir_exists(path), "model " + path + " does not exist");
  if (HfModelFolder::looks_like(path)) return {ModelFormat::kHfFolder, path};
  // A still run directory: its `latest` file names the newest checkpoint.
  std::string latest = path_join(path, "latest");
  if (file_exists(latest)) {
    std::string ck = path_join(path_join(path, "checkpoints"), trim(read_file(latest)));
    require(HfModelFolder::looks_like(ck),
            latest + " names " + ck + ", which is not a checkpoint with config.json and weights");
    return {ModelFormat::kHfFolder, ck};
  }
  throw Error(path +
              " is not a model: expected a GGUF file, a folder with config.json and *.safetensors "
              "(PyTorch .bin weights are not supported: convert them to safetensors), or a still "
              "run directory");
}

LlamaConfig read_model_config(const std::string& path) {
  ModelLocation loc = locate_model(path);
  if (loc.format == ModelFormat::kGguf) return config_from_gguf(GgufFile(loc.path));
  std::string cfg = path_join(loc.path, "config.json");
  auto j = nlohmann::json::parse(read_file(cfg), nullptr, false);
  require(!j.is_discarded(), cfg + " is not valid JSON");
  LlamaConfig c;
  try {
    c = LlamaConfig::from_json(j);
  } catch (const Error& e) {
    throw Error(cfg + ": " + e.what());
  }
  static const std::set<std::string> supported = {"LlamaForCausalLM", "MistralForCausalLM",
                                                  "Qwen2ForCausalLM", "Qwen3ForCausalLM"};
  require(supported.count(c.architecture),
          cfg + ": architecture " + c.architecture +
              " is not supported (supported: Llama, Mistral, Qwen2, Qwen3 for causal LM)");
  // The embedding's real row count wins over a config that disagrees (padded vocabularies
  // are stored padded); any other mismatch is caught when shapes are checked.
  HfModelFolder folder(loc.path);
  if (auto* emb = folder.find("model.embed_tokens.weight")) {
    const auto& s = emb->entry->shape;
    require(s.size() == 2 && s[1] == c.dim,
            emb->file->path() + ": model.embed_tokens.weight has shape " + shape_str(s) +
                ", expected [vocab, " + std::to_string(c.dim) + "]");
    if (s[0] != c.vocab_size) {
      log_warn(cfg + ": vocab_size " + std::to_string(c.vocab_size) +
               " differs from the embedding's " + std::to_string(s[0]) + " rows; using the rows");
      c.vocab_size = int(s[0]);
    }
  }
  // Tied when the folder has no LM head, whatever the config says (HF does the same).
  if (!c.tied_embeddings && !folder.find("lm_head.weight")) c.tied_embeddings = true;
  return c;
}

void load_params(const std::string& path, const LlamaConfig& config, float* params) {
  ModelLocation loc = locate_model(path);
  if (loc.format == ModelFormat::kGguf)
    load_gguf(GgufFile(loc.path), config, params, nullptr);
  else
    load_hf(loc.path, config, params);
}

std::shared_ptr<Q8Weights> load_params_keep_q8(const std::string& path, const LlamaConfig& config,
                                               float* params) {
  ModelLocation loc = locate_model(path);
  if (loc.format != ModelFormat::kGguf) {
    load_hf(loc.path, config, params);
    return nullptr;
  }
  auto file = std::make_shared<const GgufFile>(loc.path);
  auto q8 = std::make_shared<Q8Weights>(file, params);
  load_gguf(*file, config, params, q8.get());
  if (q8->num_tensors() == 0) return nullptr;
  return q8;
}

}  // namespace still
