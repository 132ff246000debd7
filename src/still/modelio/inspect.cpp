#include "still/modelio/inspect.h"

#include <filesystem>

#include "still/formats/gguf.h"
#include "still/formats/hf_model.h"
#include "still/formats/safetensors.h"
#include "still/io/atomic_file.h"
#include "still/modelio/gguf_llama.h"
#include "still/modelio/load.h"
#include "still/util/error.h"
#include "still/util/log.h"

namespace still {
namespace {

constexpr size_t kMaxArrayItems = 8;

uint64_t file_bytes(const std::string& p) {
  std::error_code ec;
  auto n = std::filesystem::file_size(p, ec);
  return ec ? 0 : uint64_t(n);
}

nlohmann::json gguf_info(const std::string& path) {
  GgufFile f(path);
  nlohmann::json info;
  info["format"] = "gguf";
  info["path"] = path;
  info["version"] = f.version();
  info["file_bytes"] = file_bytes(path);
  info["alignment"] = f.alignment();
  info["architecture"] = f.architecture();
  nlohmann::json md = nlohmann::json::array();
  for (auto& [k, v] : f.metadata()) {
    std::string type = v.is_array() ? "array[" + gguf_value_type_name(v.elem_type) + "]"
                                    : gguf_value_type_name(v.type);
    md.push_back({{"key", k}, {"type", type}, {"value", v.to_json(kMaxArrayItems)}});
  }
  info["metadata"] = md;
  nlohmann::json ts = nlohmann::json::array();
  int64_t params = 0;
  for (auto& t : f.tensors()) {
    ts.push_back({{"name", t.name},
                  {"dtype", ggml_type_name(t.type)},
                  {"shape", t.dims},
                  {"bytes", t.nbytes},
                  {"offset", f.data_offset() + t.offset}});
    params += t.numel();
  }
  info["tensors"] = ts;
  info["shape_order"] = "ggml (innermost first)";
  info["parameters"] = params;
  if (f.has("tokenizer.ggml.model")) {
    nlohmann::json tok = {{"kind", f.get_string("tokenizer.ggml.model")}};
    if (const GgufValue* v = f.find("tokenizer.ggml.tokens")) tok["size"] = v->count;
    if (const GgufValue* v = f.find("tokenizer.ggml.merges")) tok["merges"] = v->count;
    if (f.has("tokenizer.ggml.pre")) tok["pre"] = f.get_string("tokenizer.ggml.pre");
    info["tokenizer"] = tok;
  } else {
    info["tokenizer"] = nullptr;
  }
  if (!f.tensors().empty()) {
    try {
      info["config"] = config_from_gguf(f).to_hf_json();
    } catch (const Error& e) {
      info["config_error"] = e.what();
    }
  }
  return info;
}

void add_safetensors(const SafetensorsFile& f, nlohmann::json& ts, int64_t& params,
                     bool with_file) {
  for (auto& t : f.tensors()) {
    nlohmann::json e = {{"name", t.name},
                        {"dtype", dtype_name(t.dtype)},
                        {"shape", t.shape},
                        {"bytes", t.end - t.begin}};
    if (with_file) e["file"] = std::filesystem::path(f.path()).filename().string();
    ts.push_back(e);
    params += t.numel();
  }
}

nlohmann::json safetensors_info(const std::string& path) {
  SafetensorsFile f(path);
  nlohmann::json info;
  info["format"] = "safetensors";
  info["path"] = path;
  info["file_bytes"] = file_bytes(path);
  nlohmann::json md = nlohmann::json::array();
  for (auto& [k, v] : f.metadata()) md.push_back({{"key", k}, {"type", "string"}, {"value", v}});
  info["metadata"] = md;
  nlohmann::json ts = nlohmann::json::array();
  int64_t params = 0;
  add_safetensors(f, ts, params, false);
  info["tensors"] = ts;
  info["parameters"] = params;
  info["tokenizer"] = nullptr;
  return info;
}

nlohmann::json hf_tokenizer_info(const std::string& dir) {
  std::string tj = path_join(dir, "tokenizer.json");
  if (file_exists(tj)) {
    auto j = nlohmann::json::parse(read_file(tj), nullptr, false);
    if (j.is_object() && j.contains("model") && j["model"].is_object()) {
      nlohmann::json tok = {{"kind", j["model"].value("type", "unknown")},
                            {"file", "tokenizer.json"}};
      size_t n = j["model"].contains("vocab") ? j["model"]["vocab"].size() : 0;
      size_t added =
          j.contains("added_tokens") && j["added_tokens"].is_array() ? j["added_tokens"].size() : 0;
      tok["size"] = n + added;
      if (j["model"].contains("merges")) tok["merges"] = j["model"]["merges"].size();
      return tok;
    }
  }
  std::string info = path_join(dir, "tokenizer_info.json");
  if (file_exists(info)) {
    auto j = nlohmann::json::parse(read_file(info), nullptr, false);
    if (j.is_object()) {
      nlohmann::json tok = {{"kind", j.value("kind", "unknown")}, {"file", "tokenizer_info.json"}};
      if (j.contains("vocab_size")) tok["size"] = j["vocab_size"];
      return tok;
    }
  }
  if (file_exists(path_join(dir, "tokenizer.model")))
    return {{"kind", "sentencepiece"}, {"file", "tokenizer.model"}};
  return nullptr;
}

nlohmann::json hf_info(const std::string& dir) {
  HfModelFolder folder(dir);
  nlohmann::json info;
  info["format"] = "hf_folder";
  info["path"] = dir;
  uint64_t bytes = 0;
  nlohmann::json files = nlohmann::json::array();
  for (auto& f : folder.files()) {
    files.push_back(std::filesystem::path(f->path()).filename().string());
    bytes += file_bytes(f->path());
  }
  info["files"] = files;
  info["file_bytes"] = bytes;
  const auto& cfg = folder.config_json();
  info["architecture"] = cfg.contains("architectures") && cfg["architectures"].is_array() &&
                                 !cfg["architectures"].empty()
                             ? cfg["architectures"][0]
                             : nlohmann::json(cfg.value("model_type", "unknown"));
  nlohmann::json md = nlohmann::json::array();
  for (auto it = cfg.begin(); it != cfg.end(); ++it)
    md.push_back(
        {{"key", "config." + it.key()}, {"type", it.value().type_name()}, {"value", it.value()}});
  for (auto& f : folder.files())
    for (auto& [k, v] : f->metadata())
      md.push_back({{"key", std::filesystem::path(f->path()).filename().string() + ":" + k},
                    {"type", "string"},
                    {"value", v}});
  info["metadata"] = md;
  nlohmann::json ts = nlohmann::json::array();
  int64_t params = 0;
  for (auto& f : folder.files()) add_safetensors(*f, ts, params, folder.files().size() > 1);
  info["tensors"] = ts;
  info["parameters"] = params;
  info["tokenizer"] = hf_tokenizer_info(dir);
  try {
    info["config"] = read_model_config(dir).to_hf_json();
  } catch (const Error& e) {
    info["config_error"] = e.what();
  }
  return info;
}

std::string shape_str(const nlohmann::json& s) {
  std::string r = "[";
  for (size_t i = 0; i < s.size(); ++i) r += (i ? ", " : "") + s[i].dump();
  return r + "]";
}

}  // namespace

nlohmann::json inspect_model(const std::string& path) {
  if (file_exists(path)) {
    FILE* f = std::fopen(path.c_str(), "rb");
    char magic[4] = {};
    size_t n = f ? std::fread(magic, 1, 4, f) : 0;
    if (f) std::fclose(f);
    if (n == 4 && std::string(magic, 4) == "GGUF") return gguf_info(path);
    if (std::filesystem::path(path).extension() == ".safetensors") return safetensors_info(path);
    throw Error(path + " is neither a GGUF nor a .safetensors file");
  }
  ModelLocation loc = locate_model(path);
  return loc.format == ModelFormat::kGguf ? gguf_info(loc.path) : hf_info(loc.path);
}

std::string render_inspect(const nlohmann::json& info) {
  std::string out;
  auto line = [&](const std::string& s) { out += s + "\n"; };
  std::string fmt = info["format"];
  std::string head = info["path"].get<std::string>() + "  (" + fmt;
  if (info.contains("version")) head += " v" + info["version"].dump();
  head += ", " + format_bytes(double(info["file_bytes"].get<uint64_t>())) + ")";
  line(head);
  if (info.contains("architecture"))
    line("architecture: " + info["architecture"].get<std::string>());
  line("parameters:   " + format_count(double(info["parameters"].get<int64_t>())) + " (" +
       info["parameters"].dump() + ")");
  if (info["tokenizer"].is_null()) {
    line("tokenizer:    none");
  } else {
    const auto& t = info["tokenizer"];
    std::string s = "tokenizer:    " + t.value("kind", "?");
    if (t.contains("size")) s += ", " + t["size"].dump() + " tokens";
    if (t.contains("merges")) s += ", " + t["merges"].dump() + " merges";
    if (t.contains("pre")) s += ", pre-tokenizer " + t["pre"].get<std::string>();
    line(s);
  }
  if (info.contains("config")) {
    const auto& c = info["config"];
    line("config:       dim " + c["hidden_size"].dump() + ", layers " +
         c["num_hidden_layers"].dump() + ", heads " + c["num_attention_heads"].dump() + " (kv " +
         c["num_key_value_heads"].dump() + "), head_dim " + c["head_dim"].dump() + ", ffn " +
         c["intermediate_size"].dump() + ", vocab " + c["vocab_size"].dump() + ", context " +
         c["max_position_embeddings"].dump() + ", rope theta " + c["rope_theta"].dump() +
         (c["tie_word_embeddings"].get<bool>() ? ", tied embeddings" : "") +
         (c["rope_scaling"].is_null() ? "" : ", rope_scaling " + c["rope_scaling"].dump()));
  } else if (info.contains("config_error")) {
    line("config:       not usable by still: " + info["config_error"].get<std::string>());
  }
  line("metadata (" + std::to_string(info["metadata"].size()) + " keys):");
  for (auto& m : info["metadata"]) {
    std::string v = m["value"].dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    if (v.size() > 160) v = v.substr(0, 157) + "...";
    line("  " + m["key"].get<std::string>() + " (" + m["type"].get<std::string>() + ") = " + v);
  }
  std::string order =
      info.contains("shape_order") ? ", shapes in " + info["shape_order"].get<std::string>() : "";
  line("tensors (" + std::to_string(info["tensors"].size()) + order + "):");
  for (auto& t : info["tensors"]) {
    std::string s = "  " + t["name"].get<std::string>() + "  " + t["dtype"].get<std::string>() +
                    "  " + shape_str(t["shape"]) + "  " +
                    format_bytes(double(t["bytes"].get<uint64_t>()));
    if (t.contains("file")) s += "  (" + t["file"].get<std::string>() + ")";
    line(s);
  }
  return out;
}

}  // namespace still
