// Picks the reader for a path: by directory contents, file magic and content.
#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "still/formats/tokenizer/loaders.h"
#include "still/formats/tokenizer/tokenizer.h"
#include "still/io/atomic_file.h"
#include "still/util/error.h"

namespace still {
namespace {

namespace fs = std::filesystem;

std::unique_ptr<Tokenizer> load_tokenizer_json(const std::string& path) {
  BpeSpec spec = bpe_spec_from_tokenizer_json(read_file(path), path);
  std::string config = path_join(parent_dir(path), "tokenizer_config.json");
  if (file_exists(config)) apply_tokenizer_config(read_tokenizer_config(config), spec);
  return std::make_unique<BpeTokenizer>(std::move(spec));
}

std::unique_ptr<Tokenizer> load_gpt2(const std::string& encoder_json) {
  std::string vocab = path_join(parent_dir(encoder_json), "vocab.bpe");
  require(file_exists(vocab), encoder_json + ": GPT-2 encoder.json needs vocab.bpe beside it");
  return std::make_unique<BpeTokenizer>(bpe_spec_from_gpt2_files(encoder_json, vocab));
}

bool has_gguf_magic(const std::string& path) {
  FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) return false;
  char magic[4] = {};
  size_t n = std::fread(magic, 1, 4, f);
  std::fclose(f);
  return n == 4 && std::string_view(magic, 4) == "GGUF";
}

// The first byte that is not JSON whitespace, or 0 for an empty or unreadable file.
char first_non_space(const std::string& path) {
  FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) return 0;
  int c;
  while ((c = std::fgetc(f)) == ' ' || c == '\n' || c == '\r' || c == '\t') {
  }
  std::fclose(f);
  return c == EOF ? 0 : char(c);
}

// By content, not by name: a tokenizer.json may be called anything (tok.json, vocab.txt).
std::unique_ptr<Tokenizer> load_file(const std::string& path) {
  std::string name = fs::path(path).filename().string();
  if (has_gguf_magic(path)) return load_gguf_tokenizer(path);
  if (name == "encoder.json") return load_gpt2(path);
  if (first_non_space(path) == '{' || name.ends_with(".json")) return load_tokenizer_json(path);
  if (name.ends_with(".model")) return load_sentencepiece_model(path);
  throw Error(path +
              ": unknown tokenizer file type (expected tokenizer.json, a SentencePiece "
              ".model, a GGUF file or GPT-2 encoder.json)");
}

}  // namespace

bool is_tokenizer_json_file(const std::string& path) {
  if (first_non_space(path) != '{') return false;
  auto j = nlohmann::json::parse(read_file(path), nullptr, false);
  return j.is_object() && j.contains("model") && j["model"].is_object();
}

std::unique_ptr<Tokenizer> load_tokenizer(const std::string& path_or_name) {
  if (path_or_name == "bytes") return std::make_unique<ByteTokenizer>();
  if (dir_exists(path_or_name)) {
    for (const char* f : {"tokenizer.json", "encoder.json", "tokenizer.model"}) {
      std::string p = path_join(path_or_name, f);
      if (file_exists(p)) return load_file(p);
    }
    std::vector<std::string> ggufs;
    for (const auto& e : fs::directory_iterator(path_or_name))
      if (e.path().extension() == ".gguf") ggufs.push_back(e.path().string());
    if (ggufs.size() == 1) return load_file(ggufs[0]);
    throw Error(path_or_name +
                ": no tokenizer in this directory (looked for tokenizer.json, "
                "encoder.json, tokenizer.model or a single .gguf)");
  }
  if (!file_exists(path_or_name))
    throw Error(
        "cannot load tokenizer " + path_or_name +
        ": no such file or directory (give a tokenizer file, a model directory or 'bytes')");
  return load_file(path_or_name);
}

}  // namespace still
