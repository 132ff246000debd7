// tokenizer_config.json: the chat template and the names of BOS/EOS.
#include <nlohmann/json.hpp>

#include "still/formats/tokenizer/loaders.h"
#include "still/io/atomic_file.h"
#include "still/util/error.h"

namespace still {
namespace {

// "bos_token": "<s>" or {"content": "<s>", ...}
std::string token_name(const nlohmann::json& j, const char* key) {
  if (!j.contains(key)) return {};
  const auto& v = j[key];
  if (v.is_string()) return v.get<std::string>();
  if (v.is_object() && v.contains("content") && v["content"].is_string())
    return v["content"].get<std::string>();
  return {};
}

}  // namespace

TokenizerConfig read_tokenizer_config(const std::string& path) {
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(read_file(path));
  } catch (const nlohmann::json::exception& e) {
    throw Error(path + ": not valid JSON (" + std::string(e.what()) + ")");
  }
  require(j.is_object(), path + ": tokenizer_config.json must hold an object");
  TokenizerConfig c;
  c.bos_token = token_name(j, "bos_token");
  c.eos_token = token_name(j, "eos_token");
  if (j.contains("chat_template")) {
    const auto& t = j["chat_template"];
    if (t.is_string()) {
      c.chat_template = t.get<std::string>();
    } else if (t.is_array()) {  // [{"name": "default", "template": ...}, ...]
      for (const auto& e : t)
        if (e.is_object() && e.value("name", "") == "default" && e.contains("template") &&
            e["template"].is_string())
          c.chat_template = e["template"].get<std::string>();
    }
  }
  return c;
}

void apply_tokenizer_config(const TokenizerConfig& config, BpeSpec& spec) {
  if (!config.chat_template.empty()) spec.chat_template = config.chat_template;
  for (size_t id = 0; id < spec.vocab.size(); ++id) {
    if (!config.bos_token.empty() && spec.vocab[id] == config.bos_token) spec.bos_id = int(id);
    if (!config.eos_token.empty() && spec.vocab[id] == config.eos_token) spec.eos_id = int(id);
  }
}

}  // namespace still
