#include "still/modelio/export_tokenizer.h"

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>

#include "still/formats/gguf.h"
#include "still/formats/tokenizer/regex_splitter.h"
#include "still/formats/tokenizer/tokenizer.h"
#include "still/formats/tokenizer/tokenizer_json_writer.h"
#include "still/io/atomic_file.h"
#include "still/modelio/load.h"
#include "still/util/error.h"
#include "still/util/log.h"

namespace still {
namespace {

// llama.cpp token types.
constexpr int32_t kNormal = 1, kControl = 3, kUserDefined = 4, kUnused = 5;

std::string utf8(uint32_t cp) {
  std::string s;
  if (cp < 0x80) {
    s += char(cp);
  } else if (cp < 0x800) {
    s += char(0xc0 | (cp >> 6));
    s += char(0x80 | (cp & 0x3f));
  } else {
    s += char(0xe0 | (cp >> 12));
    s += char(0x80 | ((cp >> 6) & 0x3f));
    s += char(0x80 | (cp & 0x3f));
  }
  return s;
}

// GPT-2's printable spelling of each byte: printable Latin-1 bytes stand for themselves, the
// others take code points from 256 upwards in byte order.
std::vector<std::string> byte_alphabet() {
  std::vector<std::string> a(256);
  uint32_t next = 256;
  for (uint32_t b = 0; b < 256; ++b) {
    bool printable = (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174);
    a[b] = utf8(printable ? b : next++);
  }
  return a;
}

struct Source {
  enum Kind { kBytes, kGguf, kTokenizerJson, kNone } kind = kNone;
  std::string path;    // the GGUF or tokenizer.json
  std::string folder;  // the HF folder / checkpoint, when there is one
  std::string copy;    // a checkpoint's copy of its tokenizer's files (tokenizer/)
};

// The tokenizer inside a checkpoint's copy (a file, or a folder of them), by content.
Source checkpoint_copy(const std::string& path) {
  std::vector<std::string> files;
  if (dir_exists(path)) {
    for (const auto& e : std::filesystem::directory_iterator(path))
      if (e.is_regular_file()) files.push_back(e.path().string());
    std::sort(files.begin(), files.end());
  } else if (file_exists(path)) {
    files.push_back(path);
  }
  Source s;
  for (const auto& f : files) {
    if (is_gguf_file(f))
      s.kind = Source::kGguf;
    else if (is_tokenizer_json_file(f))
      s.kind = Source::kTokenizerJson;
    else
      continue;
    s.path = f;
    s.copy = dir_exists(path) ? path : parent_dir(path);
    return s;
  }
  return s;
}

Source resolve(const std::string& source, int vocab_size) {
  Source s;
  if (source.empty() || source == "bytes") {
    s.kind = Source::kBytes;
    return s;
  }
  if (file_exists(source)) {
    if (is_tokenizer_json_file(source)) {  // by content: it may be called anything
      s.kind = Source::kTokenizerJson;
      s.path = source;
      return s;
    }
    ModelLocation loc = locate_model(source);
    s.kind = Source::kGguf;
    s.path = loc.path;
    return s;
  }
  ModelLocation loc = locate_model(source);
  if (loc.format == ModelFormat::kGguf) {
    s.kind = Source::kGguf;
    s.path = loc.path;
    return s;
  }
  s.folder = loc.path;
  std::string info = path_join(loc.path, "tokenizer_info.json");
  if (file_exists(info)) {
    auto j = nlohmann::json::parse(read_file(info), nullptr, false);
    if (j.is_object() && j.value("kind", "") == "bytes") {
      s.kind = Source::kBytes;
      return s;
    }
    // A checkpoint trained with a tokenizer file carries a copy of it (train/checkpoint.h).
    if (j.is_object() && j.contains("file") && j["file"].is_string()) {
      Source c = checkpoint_copy(path_join(loc.path, j["file"].get<std::string>()));
      c.folder = loc.path;
      if (c.kind != Source::kNone) return c;
    }
  }
  std::string tj = path_join(loc.path, "tokenizer.json");
  if (file_exists(tj)) {
    s.kind = Source::kTokenizerJson;
    s.path = tj;
    return s;
  }
  if (vocab_size == 256) {
    log_warn(loc.path +
             " has no tokenizer files; a 256-token vocabulary is taken to be still's "
             "byte tokenizer");
    s.kind = Source::kBytes;
  }
  return s;
}

void add_byte_vocab(const LlamaConfig& c, GgufWriter& w) {
  require(c.vocab_size >= 256, "export: the byte tokenizer needs vocab_size >= 256 (model has " +
                                   std::to_string(c.vocab_size) + ")");
  std::vector<std::string> tokens = byte_alphabet();
  std::vector<int32_t> types(256, kNormal);
  for (int i = 256; i < c.vocab_size; ++i) {
    // The first spare row becomes an end-of-text control token so llama.cpp has one.
    tokens.push_back(i == 256 ? "<|endoftext|>" : "[PAD" + std::to_string(i) + "]");
    types.push_back(i == 256 ? kControl : kUnused);
  }
  w.set_string("tokenizer.ggml.model", "gpt2");
  w.set_string("tokenizer.ggml.pre", "default");
  w.set_strings("tokenizer.ggml.tokens", tokens);
  w.set_i32s("tokenizer.ggml.token_type", types);
  w.set_strings("tokenizer.ggml.merges", {});
  if (c.vocab_size > 256) {
    w.set_u32("tokenizer.ggml.bos_token_id", 256);
    w.set_u32("tokenizer.ggml.eos_token_id", 256);
  }
  w.set_bool("tokenizer.ggml.add_bos_token", false);
  w.set_bool("tokenizer.ggml.add_eos_token", false);
}

void copy_gguf_vocab(const std::string& path, const LlamaConfig& c, GgufWriter& w) {
  GgufFile f(path);
  bool has_tokens = false;
  for (auto& [k, v] : f.metadata()) {
    if (k.rfind("tokenizer.", 0) != 0) continue;
    if (k == "tokenizer.ggml.tokens") {
      has_tokens = true;
      auto tokens = v.to_strings(path + ": " + k);
      require(int64_t(tokens.size()) <= c.vocab_size,
              path + ": has " + std::to_string(tokens.size()) +
                  " tokens, more than the model's vocab_size " + std::to_string(c.vocab_size));
      for (int i = int(tokens.size()); i < c.vocab_size; ++i)
        tokens.push_back("[PAD" + std::to_string(i) + "]");
      w.set_strings(k, tokens);
      continue;
    }
    if ((k == "tokenizer.ggml.scores" || k == "tokenizer.ggml.token_type") && v.is_array() &&
        int64_t(v.count) < c.vocab_size) {
      if (k == "tokenizer.ggml.scores") {
        auto s = v.to_floats(path + ": " + k);
        s.resize(size_t(c.vocab_size), -1e9f);
        w.set_f32s(k, s);
      } else {
        auto t64 = v.to_ints(path + ": " + k);
        std::vector<int32_t> t(t64.begin(), t64.end());
        t.resize(size_t(c.vocab_size), kUnused);
        w.set_i32s(k, t);
      }
      continue;
    }
    w.copy_value(k, v);
  }
  require(has_tokens, path + " has no tokenizer.ggml.tokens to export");
}

// Which of llama.cpp's pre-tokenizers matches a tokenizer.json's split regex.
std::string pre_tokenizer_name(const nlohmann::json& tj) {
  std::string text = tj.contains("pre_tokenizer") ? tj["pre_tokenizer"].dump() : "";
  if (text.find("\\\\p{N}{1,3}") != std::string::npos) return "llama-bpe";
  if (text.find("[^\\\\r\\\\n\\\\p{L}\\\\p{N}]?\\\\p{L}+|\\\\p{N}") != std::string::npos)
    return "qwen2";
  if (text.find("\"ByteLevel\"") != std::string::npos &&
      text.find("\"Split\"") == std::string::npos)
    return "gpt-2";
  return "";
}

void add_tokenizer_json(const std::string& path, const std::string& folder, const LlamaConfig& c,
                        GgufWriter& w) {
  auto tj = nlohmann::json::parse(read_file(path), nullptr, false);
  require(tj.is_object() && tj.contains("model") && tj["model"].is_object(),
          path + " is not a Hugging Face tokenizer.json");
  const auto& m = tj["model"];
  require(m.value("type", "") == "BPE" && m.contains("vocab") && m["vocab"].is_object(),
          path +
              ": only byte-level BPE tokenizers convert to GGUF in this build; use "
              "llama.cpp's convert_hf_to_gguf.py for this one");
  std::string pre = pre_tokenizer_name(tj);
  auto part = [&](const char* key) { return tj.contains(key) ? tj[key].dump() : std::string(); };
  require((part("pre_tokenizer") + part("decoder")).find("\"ByteLevel\"") != std::string::npos,
          path + ": not a byte-level BPE tokenizer; only those convert to GGUF in this build");
  if (pre.empty()) {
    log_warn(path +
             ": pre-tokenizer not recognised; llama.cpp will split text with its default "
             "rules (token ids may differ from Hugging Face's on some text)");
    pre = "default";
  }
  std::vector<std::string> tokens(size_t(c.vocab_size));
  std::vector<int32_t> types(size_t(c.vocab_size), kUnused);
  std::vector<bool> set(size_t(c.vocab_size), false);
  auto place = [&](const std::string& text, int64_t id, int32_t type) {
    require(id >= 0 && id < c.vocab_size,
            path + ": token '" + text + "' has id " + std::to_string(id) +
                ", outside the model's vocab_size " + std::to_string(c.vocab_size));
    tokens[size_t(id)] = text;
    types[size_t(id)] = type;
    set[size_t(id)] = true;
  };
  for (auto it = m["vocab"].begin(); it != m["vocab"].end(); ++it)
    place(it.key(), it.value().get<int64_t>(), kNormal);
  std::map<std::string, int64_t> added;
  if (tj.contains("added_tokens") && tj["added_tokens"].is_array())
    for (auto& a : tj["added_tokens"]) {
      std::string content = a.value("content", "");
      int64_t id = a.value("id", int64_t(-1));
      place(content, id, a.value("special", false) ? kControl : kUserDefined);
      added[content] = id;
    }
  for (int i = 0; i < c.vocab_size; ++i)
    if (!set[size_t(i)]) tokens[size_t(i)] = "[PAD" + std::to_string(i) + "]";
  std::vector<std::string> merges;
  if (m.contains("merges") && m["merges"].is_array())
    for (auto& mg : m["merges"]) {
      if (mg.is_string())
        merges.push_back(mg.get<std::string>());
      else if (mg.is_array() && mg.size() == 2)
        merges.push_back(mg[0].get<std::string>() + " " + mg[1].get<std::string>());
    }
  w.set_string("tokenizer.ggml.model", "gpt2");
  w.set_string("tokenizer.ggml.pre", pre);
  w.set_strings("tokenizer.ggml.tokens", tokens);
  w.set_i32s("tokenizer.ggml.token_type", types);
  w.set_strings("tokenizer.ggml.merges", merges);

  // Special tokens and BOS policy from tokenizer_config.json when present.
  nlohmann::json tc = nlohmann::json::object();
  std::string tc_path =
      path_join(folder.empty() ? parent_dir(path) : folder, "tokenizer_config.json");
  if (file_exists(tc_path)) {
    tc = nlohmann::json::parse(read_file(tc_path), nullptr, false);
    if (!tc.is_object()) tc = nlohmann::json::object();
  }
  auto special_id = [&](const char* key, int from_config) -> int64_t {
    if (from_config >= 0) return from_config;
    if (!tc.contains(key)) return -1;
    const auto& v = tc[key];
    std::string content = v.is_string()   ? v.get<std::string>()
                          : v.is_object() ? v.value("content", "")
                                          : "";
    auto it = added.find(content);
    return it == added.end() ? -1 : it->second;
  };
  int64_t bos = special_id("bos_token", c.bos_token_id);
  int64_t eos = special_id("eos_token", c.eos_token_id);
  if (bos >= 0) w.set_u32("tokenizer.ggml.bos_token_id", uint32_t(bos));
  if (eos >= 0) w.set_u32("tokenizer.ggml.eos_token_id", uint32_t(eos));
  bool add_bos = false;
  if (tc.contains("add_bos_token") && tc["add_bos_token"].is_boolean())
    add_bos = tc["add_bos_token"].get<bool>();
  else if (tj.contains("post_processor") && bos >= 0)
    add_bos = tj["post_processor"].dump().find("\"SpecialToken\"") != std::string::npos;
  w.set_bool("tokenizer.ggml.add_bos_token", add_bos);
  w.set_bool("tokenizer.ggml.add_eos_token", false);
  if (tc.contains("chat_template") && tc["chat_template"].is_string())
    w.set_string("tokenizer.chat_template", tc["chat_template"].get<std::string>());
}

void write_byte_tokenizer_json(const LlamaConfig& c, const std::string& out_dir) {
  nlohmann::ordered_json vocab = nlohmann::ordered_json::object();
  auto alphabet = byte_alphabet();
  for (int b = 0; b < 256; ++b) vocab[alphabet[size_t(b)]] = b;
  nlohmann::ordered_json added = nlohmann::ordered_json::array();
  for (int i = 256; i < c.vocab_size; ++i)
    added.push_back(hf_json::added_token(
        size_t(i), i == 256 ? "<|endoftext|>" : "[PAD" + std::to_string(i) + "]", true, false));
  hf_json::BpeModel model;
  model.vocab = std::move(vocab);
  nlohmann::ordered_json j =
      hf_json::bpe_tokenizer(std::move(added), hf_json::byte_level(false, false, false), nullptr,
                             hf_json::byte_level(false, false, false), std::move(model));
  write_file_atomic(path_join(out_dir, "tokenizer.json"), j.dump(2) + "\n");
  nlohmann::ordered_json tc = {{"tokenizer_class", "PreTrainedTokenizerFast"},
                               {"model_max_length", c.max_seq},
                               {"clean_up_tokenization_spaces", false}};
  if (c.vocab_size > 256) tc["eos_token"] = "<|endoftext|>";
  write_file_atomic(path_join(out_dir, "tokenizer_config.json"), tc.dump(2) + "\n");
  nlohmann::ordered_json info = {{"kind", "bytes"}, {"vocab_size", 256}};
  write_file_atomic(path_join(out_dir, "tokenizer_info.json"), info.dump(2) + "\n");
}

// A GGUF byte-level BPE vocabulary (tokenizer.ggml.model "gpt2") as a Hugging Face
// tokenizer.json + tokenizer_config.json. Returns false (writing nothing) for other kinds.
bool write_tokenizer_json_from_gguf(const std::string& path, const std::string& out_dir) {
  GgufFile f(path);
  if (f.get_string("tokenizer.ggml.model", "") != "gpt2") return false;
  const std::string what = path + ": ";
  auto tokens = f.get_strings("tokenizer.ggml.tokens");
  std::vector<int64_t> types(tokens.size(), kNormal);
  if (f.has("tokenizer.ggml.token_type")) {
    types = f.get_ints("tokenizer.ggml.token_type");
    require(types.size() == tokens.size(), what + "token_type and tokens differ in length");
  }
  std::vector<std::string> merges;
  if (f.has("tokenizer.ggml.merges")) merges = f.get_strings("tokenizer.ggml.merges");
  const std::string pre = f.get_string("tokenizer.ggml.pre", "default");
  // A std::map-backed object: ordered_json's linear key search is quadratic for 150k tokens.
  nlohmann::json vocab = nlohmann::json::object();
  nlohmann::ordered_json added = nlohmann::ordered_json::array();
  for (size_t i = 0; i < tokens.size(); ++i) {
    if (types[i] == kControl || types[i] == kUserDefined)
      added.push_back(
          hf_json::added_token(i, tokens[i], types[i] == kControl, types[i] == kUserDefined));
    else if (types[i] != kUnused)
      vocab[tokens[i]] = i;
  }
  nlohmann::ordered_json pre_tok;
  if (const auto regexes = split_regexes_for_pre(pre); !regexes.empty()) {
    pre_tok = hf_json::split_sequence(regexes, hf_json::byte_level(false, true, false));
  } else {
    log_warn(what + "pre-tokenizer '" + pre +
             "' has no known split regex; tokenizer.json "
             "uses GPT-2's");
    pre_tok = hf_json::byte_level(false, true, true);
  }
  hf_json::BpeModel model;
  model.vocab = vocab;
  model.merges = merges;
  model.ignore_merges = pre == "llama-bpe" || pre == "llama3";
  nlohmann::ordered_json j =
      hf_json::bpe_tokenizer(std::move(added), std::move(pre_tok), nullptr,
                             hf_json::byte_level(true, true, true), std::move(model));
  write_file_atomic(path_join(out_dir, "tokenizer.json"),
                    j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n");
  nlohmann::ordered_json tc = {{"tokenizer_class", "PreTrainedTokenizerFast"},
                               {"clean_up_tokenization_spaces", false}};
  auto token_at = [&](const char* key) -> std::string {
    int64_t id = f.get_int(key, -1);
    return id >= 0 && size_t(id) < tokens.size() ? tokens[size_t(id)] : "";
  };
  if (auto b = token_at("tokenizer.ggml.bos_token_id"); !b.empty()) tc["bos_token"] = b;
  if (auto e = token_at("tokenizer.ggml.eos_token_id"); !e.empty()) tc["eos_token"] = e;
  tc["add_bos_token"] = f.get_bool("tokenizer.ggml.add_bos_token", false);
  if (f.has("tokenizer.chat_template"))
    tc["chat_template"] = f.get_string("tokenizer.chat_template");
  write_file_atomic(path_join(out_dir, "tokenizer_config.json"),
                    tc.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n");
  return true;
}

}  // namespace

std::string add_gguf_tokenizer(const std::string& source, const LlamaConfig& config,
                               GgufWriter& w) {
  Source s = resolve(source, config.vocab_size);
  switch (s.kind) {
    case Source::kBytes:
      add_byte_vocab(config, w);
      return "still byte tokenizer (gpt2 byte alphabet, no merges)";
    case Source::kGguf:
      copy_gguf_vocab(s.path, config, w);
      return "tokenizer metadata copied from " + s.path;
    case Source::kTokenizerJson:
      add_tokenizer_json(s.path, s.folder, config, w);
      return "byte-level BPE converted from " + s.path;
    case Source::kNone:
      break;
  }
  throw Error("export: no tokenizer found in " + source +
              " (llama.cpp needs one); pass --tokenizer FILE or --tokenizer bytes");
}

std::string write_hf_tokenizer(const std::string& source, const LlamaConfig& config,
                               const std::string& out_dir) {
  Source s = resolve(source, config.vocab_size);
  if (s.kind == Source::kBytes) {
    write_byte_tokenizer_json(config, out_dir);
    return "still byte tokenizer as a byte-level tokenizer.json";
  }
  if (!s.folder.empty()) {
    std::vector<std::string> copied;
    std::vector<std::string> names = {
        "tokenizer.json",  "tokenizer_config.json",  "special_tokens_map.json",
        "tokenizer.model", "generation_config.json", "vocab.json",
        "merges.txt",      "tokenizer_info.json"};
    std::string info = path_join(s.folder, "tokenizer_info.json");
    if (file_exists(info)) {
      auto j = nlohmann::json::parse(read_file(info), nullptr, false);
      if (j.is_object() && j.contains("file") && j["file"].is_string())
        names.push_back(std::filesystem::path(j["file"].get<std::string>()).filename());
    }
    for (const std::string& dir : {s.copy, s.folder}) {
      if (dir.empty()) continue;
      for (auto& n : names) {
        std::string src = path_join(dir, n), dst = path_join(out_dir, n);
        if (!file_exists(src) || std::filesystem::exists(dst)) continue;
        write_file_atomic(dst, read_file(src));
        copied.push_back(n);
      }
    }
    // A copy kept under another name is still the tokenizer.json HF tools look for.
    if (s.kind == Source::kTokenizerJson && !file_exists(path_join(out_dir, "tokenizer.json"))) {
      write_file_atomic(path_join(out_dir, "tokenizer.json"), read_file(s.path));
      copied.push_back("tokenizer.json");
    }
    if (!copied.empty()) {
      std::string r = "copied";
      for (auto& n : copied) r += " " + n;
      return r;
    }
  }
  if (s.kind == Source::kTokenizerJson) {
    write_file_atomic(path_join(out_dir, "tokenizer.json"), read_file(s.path));
    return "copied " + s.path;
  }
  if (s.kind == Source::kGguf && write_tokenizer_json_from_gguf(s.path, out_dir))
    return "byte-level BPE tokenizer.json written from " + s.path + "'s metadata";
  log_warn("export: no tokenizer files written for " + out_dir + " (source " + source +
           " has none that Hugging Face tools read); add tokenizer.json yourself");
  return "none";
}

}  // namespace still
