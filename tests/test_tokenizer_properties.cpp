// Round trips and streaming for every tokenizer kind: decode(encode(x)) == x for random bytes,
// valid and invalid UTF-8, whitespace and digit runs, and every added token; special tokens
// are only parsed from template text; a stream never shows half a character.
#include <gtest/gtest.h>

#include "still/formats/tokenizer/nfc.h"
#include "still/formats/tokenizer/tokenizer.h"
#include "still/formats/tokenizer/utf8.h"
#include "still/util/rng.h"
#include "tokenizer_test_files.h"

namespace still {
namespace {

using testing::shared_tokenizer;

std::string random_bytes(Rng& rng, size_t n) {
  std::string s(n, '\0');
  for (auto& c : s) c = char(rng.below(256));
  return s;
}

// Valid UTF-8 drawn from ASCII, Latin, CJK, emoji, combining marks and whitespace.
std::string random_utf8(Rng& rng, size_t chars) {
  static const std::pair<uint32_t, uint32_t> ranges[] = {
      {0x20, 0x7E},     {0x09, 0x0D},       {0xA0, 0x17F},      {0x300, 0x36F},
      {0x400, 0x4FF},   {0x2000, 0x206F},   {0x3040, 0x30FF},   {0x4E00, 0x9FFF},
      {0xAC00, 0xD7A3}, {0x1F300, 0x1F6FF}, {0x10000, 0x10FFFF}};
  std::string s;
  for (size_t i = 0; i < chars; ++i) {
    auto [lo, hi] = ranges[rng.below(std::size(ranges))];
    uint32_t cp = lo + uint32_t(rng.below(hi - lo + 1));
    if (cp >= 0xD800 && cp <= 0xDFFF) cp = 'x';
    utf8::append_codepoint(s, cp);
  }
  return s;
}

// Qwen normalises to NFC, so only NFC text comes back byte for byte.
std::string expected_round_trip(const std::string& name, const std::string& s) {
  return name == "qwen" ? nfc_normalize(s) : s;
}

void expect_round_trip(const std::string& name, const std::string& s) {
  const Tokenizer& tok = shared_tokenizer(name);
  auto ids = tok.encode(s);
  for (int32_t id : ids) ASSERT_TRUE(id >= 0 && id < tok.vocab_size()) << name;
  ASSERT_EQ(tok.decode(ids), expected_round_trip(name, s)) << name << " on '" << s << "'";
}

// One test process per tokenizer (loading a large tokenizer.json dominates the cost).
class EachTokenizer : public ::testing::TestWithParam<std::string> {};

void random_bytes_round_trip(const std::string& name) {
  Rng rng(1);
  for (int i = 0; i < 150; ++i) expect_round_trip(name, random_bytes(rng, rng.below(64)));
}

void random_utf8_round_trips(const std::string& name) {
  Rng rng(2);
  for (int i = 0; i < 150; ++i) expect_round_trip(name, random_utf8(rng, rng.below(40)));
}

void invalid_utf8_round_trips(const std::string& name) {
  const std::string cases[] = {"\xff",
                               "\xc3",
                               "a\xc3",
                               "\xc3(",
                               "\xe2\x82",
                               "\xe2\x82 x",
                               "\xf0\x9f\x98",
                               "\xed\xa0\x80",
                               "\xc0\xaf",
                               "\xf8\x88\x80\x80\x80",
                               "\x80\x80\x80",
                               "ok\xfe\xffok",
                               "\xe0\x80\x80",
                               "\xf4\x90\x80\x80",
                               " \xa0 \xa0",
                               "\xef\xbb\xbf"
                               "BOM",
                               "caf\xe9",
                               "\xe4\xb8\xad\xe6\x96"};
  for (const auto& s : cases) expect_round_trip(name, s);
}

void runs_round_trip(const std::string& name) {
  for (const char* unit : {" ", "\t", "\n", "\r\n", " \n", "  \t", "\u3000", "7", "12", "0.5,"})
    for (size_t n : {1, 2, 3, 7, 64, 1000, 5000}) {
      std::string s;
      for (size_t k = 0; k < n; ++k) s += unit;
      expect_round_trip(name, s);
      expect_round_trip(name, "x" + s + "y");
    }
}

// decode(encode(x)) == x for random bytes, valid and invalid UTF-8, whitespace/digit runs.
TEST_P(EachTokenizer, RoundTrips) {
  random_bytes_round_trip(GetParam());
  random_utf8_round_trips(GetParam());
  invalid_utf8_round_trips(GetParam());
  runs_round_trip(GetParam());
}

TEST(TokenizerProperties, LongRunsUseFewTokens) {
  // Merges must apply across long runs (a heap-based merge loop, not one token per byte).
  const Tokenizer& tok = shared_tokenizer("llama3");
  EXPECT_LT(tok.encode(std::string(5000, ' ')).size(), 400u);
  EXPECT_EQ(tok.encode(std::string(999, '7')).size(), 333u);  // \p{N}{1,3}
}

TEST_P(EachTokenizer, EveryAddedTokenRoundTrips) {
  {
    const std::string& name = GetParam();
    const Tokenizer& tok = shared_tokenizer(name);
    ASSERT_FALSE(tok.added_tokens().empty()) << name;
    for (const auto& a : tok.added_tokens()) {
      EXPECT_EQ(tok.encode_special(a.content), std::vector<int32_t>{a.id})
          << name << " " << a.content;
      EXPECT_EQ(tok.decode({a.id}), a.content) << name;
      std::string text = "x " + a.content + " y";
      auto plain = tok.encode(text);
      EXPECT_EQ(tok.decode(plain), text) << name;
      if (a.special) {  // never parsed from user content
        EXPECT_EQ(std::count(plain.begin(), plain.end(), a.id), 0) << name << " " << a.content;
      }
      auto templ = tok.encode_special(text);
      EXPECT_EQ(std::count(templ.begin(), templ.end(), a.id), 1) << name << " " << a.content;
      // SentencePiece prepends "▁" to the text after a special token (llama.cpp and HF legacy
      // behaviour), so only byte-level tokenizers give the template text back unchanged.
      if (!tok.strips_leading_space()) {
        EXPECT_EQ(tok.decode(templ), text) << name;
      }
    }
  }
}

TEST(TokenizerProperties, SpecialTokensOnlyFromTemplateText) {
  const Tokenizer& tok = shared_tokenizer("llama3");
  std::string text = "<|start_header_id|>user<|end_header_id|>\n\nhi<|eot_id|>";
  auto templ = tok.encode_special(text);
  EXPECT_EQ(templ, (std::vector<int32_t>{128006, 882, 128007, 271, 6151, 128009}));
  auto user = tok.encode(text);
  for (int32_t id : user) EXPECT_LT(id, 128000);
  EXPECT_EQ(tok.decode(user), text);
  const Tokenizer& qwen = shared_tokenizer("qwen");
  EXPECT_EQ(qwen.encode_special("<|im_start|>user\nhi<|im_end|>"),
            (std::vector<int32_t>{151644, 872, 198, 6023, 151645}));
}

// Feeding ids one at a time: the pieces concatenate to decode(ids), and no piece ends inside
// a character (for valid input every piece is itself valid UTF-8).
void expect_stream_matches(const std::string& name, const std::string& s) {
  const Tokenizer& tok = shared_tokenizer(name);
  auto ids = tok.encode(s);
  StreamDecoder dec(tok);
  std::string all;
  for (int32_t id : ids) {
    std::string piece = dec.push(id);
    if (utf8::is_valid(s)) {
      EXPECT_EQ(utf8::incomplete_tail(piece), 0u) << name << " on '" << s << "'";
      EXPECT_TRUE(utf8::is_valid(piece)) << name << " on '" << s << "'";
    }
    all += piece;
  }
  all += dec.flush();
  EXPECT_EQ(all, tok.decode(ids)) << name;
}

TEST_P(EachTokenizer, StreamingNeverSplitsCharacters) {
  {
    const std::string& name = GetParam();
    Rng rng(3);
    for (int i = 0; i < 60; ++i) expect_stream_matches(name, random_utf8(rng, rng.below(30)));
    for (int i = 0; i < 60; ++i) expect_stream_matches(name, random_bytes(rng, rng.below(30)));
    // Characters that byte-level vocabularies and byte fallback split over several tokens.
    expect_stream_matches(name, "😶‍🌫️ 我想在apple工作 \xf0\x9f\x98 ok");
  }
}

TEST(TokenizerProperties, StreamDecoderHoldsIncompleteCharacter) {
  ByteTokenizer bytes;
  StreamDecoder dec(bytes);
  EXPECT_EQ(dec.push(0xE2), "");
  EXPECT_EQ(dec.push(0x82), "");
  EXPECT_EQ(dec.push(0xAC), "\xE2\x82\xAC");
  EXPECT_EQ(dec.push(0xFF), "\xFF");  // can never become valid: passed through
  EXPECT_EQ(dec.push(0xF0), "");
  EXPECT_EQ(dec.flush(), "\xF0");
}

TEST(TokenizerProperties, SpmDecodeDropsOnlyTheDummyPrefix) {
  const Tokenizer& tok = shared_tokenizer("llama-spm");
  EXPECT_EQ(tok.encode("Hello"), (std::vector<int32_t>{15043}));
  EXPECT_EQ(tok.decode(tok.encode(" Hello")), " Hello");
  StreamDecoder dec(tok);
  EXPECT_EQ(dec.push(15043), "Hello");
  EXPECT_EQ(dec.push(15043), " Hello");
}

TEST(TokenizerProperties, FingerprintsDifferAndAreStable) {
  EXPECT_NE(shared_tokenizer("gpt2").fingerprint(), shared_tokenizer("llama-spm").fingerprint());
  EXPECT_EQ(shared_tokenizer("gpt2").fingerprint(), shared_tokenizer("gpt2-encoder").fingerprint());
  EXPECT_EQ(shared_tokenizer("gpt2").fingerprint().size(), 64u);
}

INSTANTIATE_TEST_SUITE_P(All, EachTokenizer,
                         ::testing::Values("llama3", "qwen", "gpt2", "llama-spm", "mistral"),
                         [](const auto& info) {
                           std::string n = info.param;
                           std::replace(n.begin(), n.end(), '-', '_');
                           return n;
                         });

}  // namespace
}  // namespace still
