// Replays every file under fuzz/corpus/ (the fuzzers' seeds and any crash reproducers saved
// in fuzz/corpus/regressions/) through the parser it was made for, plus mutations of each.
// Under the ASan/UBSan build this is the corpus of bad files CI runs: every input must give a
// parse or a still::Error, never a crash or an out-of-bounds read.
#include <gtest/gtest.h>

#include <filesystem>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>

#include "still/formats/gguf.h"
#include "still/formats/hf_model.h"
#include "still/formats/safetensors.h"
#include "still/formats/tokenizer/bpe_tokenizer.h"
#include "still/formats/tokenizer/loaders.h"
#include "still/io/atomic_file.h"
#include "still/model/config.h"
#include "still/util/error.h"
#include "test_helpers.h"

namespace still {
namespace {

using Parser = std::function<void(const std::vector<uint8_t>&)>;

const std::map<std::string, Parser>& parsers() {
  static const std::map<std::string, Parser> p = {
      {"gguf",
       [](const std::vector<uint8_t>& b) {
         auto f = GgufFile::parse_only(b.data(), b.size(), "corpus");
         for (auto& [k, v] : f.metadata()) (void)v.summary(8);
       }},
      {"safetensors",
       [](const std::vector<uint8_t>& b) {
         auto f = SafetensorsFile::parse_only(b.data(), b.size(), "corpus");
         std::vector<float> out;
         for (auto& t : f.tensors()) {
           out.resize(size_t(t.numel()));
           try {
             f.read_f32(t.name, out.data(), t.numel());
           } catch (const Error&) {
           }
         }
       }},
      {"config",
       [](const std::vector<uint8_t>& b) {
         auto j = nlohmann::json::parse(b.begin(), b.end(), nullptr, false);
         if (!j.is_discarded()) (void)LlamaConfig::from_json(j).num_params();
       }},
      {"index",
       [](const std::vector<uint8_t>& b) {
         (void)parse_safetensors_index(
             std::string_view(reinterpret_cast<const char*>(b.data()), b.size()), "corpus");
       }},
      {"tokenizer_json",
       [](const std::vector<uint8_t>& b) {
         BpeTokenizer tok(bpe_spec_from_tokenizer_json(
             std::string_view(reinterpret_cast<const char*>(b.data()), b.size()), "corpus"));
         (void)tok.decode(tok.encode_special("Hello world 123  <s><|x|> caf\xC3\xA9 \xFF"));
       }},
  };
  return p;
}

// A regression file names its parser by prefix: gguf-*, safetensors-*, config-*, index-*.
std::string parser_for(const std::filesystem::path& p) {
  std::string dir = p.parent_path().filename();
  if (dir != "regressions") return dir;
  std::string n = p.filename();
  return n.substr(0, n.find('-'));
}

TEST(FuzzCorpus, EveryFileAndMutationParsesOrFailsCleanly) {
  std::string root = source_dir() + "/fuzz/corpus";
  ASSERT_TRUE(dir_exists(root));
  int files = 0, runs = 0;
  for (auto& e : std::filesystem::recursive_directory_iterator(root)) {
    if (!e.is_regular_file()) continue;
    auto it = parsers().find(parser_for(e.path()));
    if (it == parsers().end()) continue;  // another target's corpus: its own test replays it
    std::string s = read_file(e.path());
    std::vector<uint8_t> bytes(s.begin(), s.end());
    ++files;
    auto run = [&](const std::vector<uint8_t>& b) {
      ++runs;
      try {
        it->second(b);
      } catch (const Error&) {
      }
    };
    run(bytes);
    // Truncations and single-bit flips at a spread of positions.
    for (size_t n = 0; n < bytes.size(); n += 1 + bytes.size() / 64)
      run(std::vector<uint8_t>(bytes.begin(), bytes.begin() + long(n)));
    for (size_t i = 0; i < bytes.size(); i += 1 + bytes.size() / 128)
      for (int bit : {0, 7}) {
        auto m = bytes;
        m[i] ^= uint8_t(1u << bit);
        run(m);
      }
  }
  EXPECT_GE(files, 4);
  std::printf("[corpus] %d files, %d parses\n", files, runs);
}

}  // namespace
}  // namespace still
