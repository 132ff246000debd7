// GGUF reader and writer: real vocab files from llama.cpp, round trips of every value type,
// and hostile files that must give one-line errors naming the file (never a crash).
#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "skip.h"
#include "still/formats/gguf.h"
#include "still/formats/gguf_writer.h"
#include "still/util/error.h"
#include "test_helpers.h"
#include "testdata.h"

namespace still {
namespace {

std::string testdata(const std::string& name) {
  return testing::testdata_file("tokenizers/" + name);
}

// Expects parsing `bytes` to throw a one-line still::Error that names the file and contains
// `needle`.
void expect_bad(const std::string& bytes, const std::string& needle) {
  try {
    GgufFile::parse_only(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), "bad.gguf");
    ADD_FAILURE() << "no error; expected one containing '" << needle << "'";
  } catch (const Error& e) {
    std::string msg = e.what();
    EXPECT_EQ(msg.rfind("bad.gguf: ", 0), 0u) << msg;
    EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
    EXPECT_NE(msg.find(needle), std::string::npos) << msg;
  }
}

template <typename T>
void put(std::string& s, T v) {
  s.append(reinterpret_cast<const char*>(&v), sizeof v);
}
void put_str(std::string& s, const std::string& v) {
  put<uint64_t>(s, v.size());
  s += v;
}
std::string header(uint64_t n_tensors, uint64_t n_kv, uint32_t version = 3) {
  std::string s = "GGUF";
  put<uint32_t>(s, version);
  put<uint64_t>(s, n_tensors);
  put<uint64_t>(s, n_kv);
  return s;
}

GgufWriter small_model_writer() {
  GgufWriter w;
  w.set_string("general.architecture", "llama");
  w.set_u32("llama.block_count", 2);
  w.set_f32("llama.rope.freq_base", 10000.0f);
  w.set_bool("flag", true);
  w.set_strings("tokenizer.ggml.tokens", {"a", "b", "", "\xe2\x96\x81hello"});
  w.set_i32s("tokenizer.ggml.token_type", {1, 1, 3, 1});
  w.set_f32s("tokenizer.ggml.scores", {0.f, -1.f, -2.5f, 3.f});
  w.set_u64("big", 1ull << 40);
  w.set_i32("neg", -7);
  std::vector<uint8_t> a(4 * 3 * 4), b(2 * 5);
  for (size_t i = 0; i < a.size(); ++i) a[i] = uint8_t(i);
  for (size_t i = 0; i < b.size(); ++i) b[i] = uint8_t(100 + i);
  w.add_tensor("a", {4, 3}, GgmlType::kF32, a);
  w.add_tensor("b", {5}, GgmlType::kF16, b);
  return w;
}

TEST(Gguf, ReadsLlamaCppVocabFiles) {
  if (testdata("ggml-vocab-llama-spm.gguf").empty())
    STILL_SKIP_OR_FAIL("shared testdata not found under " + testing::testdata_root() +
                       "; set STILL_TESTDATA");
  GgufFile spm(testdata("ggml-vocab-llama-spm.gguf"));
  EXPECT_EQ(spm.version(), 3u);
  EXPECT_EQ(spm.architecture(), "llama");
  EXPECT_EQ(spm.get_string("tokenizer.ggml.model"), "llama");
  auto tokens = spm.get_strings("tokenizer.ggml.tokens");
  ASSERT_EQ(tokens.size(), 32000u);
  EXPECT_EQ(tokens[0], "<unk>");
  EXPECT_EQ(tokens[1], "<s>");
  EXPECT_EQ(tokens[2], "</s>");
  EXPECT_EQ(tokens[3], "<0x00>");
  EXPECT_EQ(spm.get_floats("tokenizer.ggml.scores").size(), 32000u);
  auto types = spm.get_ints("tokenizer.ggml.token_type");
  ASSERT_EQ(types.size(), 32000u);
  EXPECT_EQ(types[3], 6);  // byte token
  EXPECT_EQ(spm.get_int("tokenizer.ggml.bos_token_id"), 1);
  EXPECT_EQ(spm.get_int("tokenizer.ggml.eos_token_id"), 2);
  EXPECT_TRUE(spm.tensors().empty());

  GgufFile gpt2(testdata("ggml-vocab-gpt-2.gguf"));
  EXPECT_EQ(gpt2.get_string("tokenizer.ggml.model"), "gpt2");
  EXPECT_EQ(gpt2.get_strings("tokenizer.ggml.tokens").size(), 50257u);
  auto merges = gpt2.get_strings("tokenizer.ggml.merges");
  ASSERT_EQ(merges.size(), 50000u);
  EXPECT_EQ(merges[0], "\xc4\xa0 t");  // "Ġ t"
  // Typed getters name the file and key on a mismatch.
  try {
    gpt2.get_int("tokenizer.ggml.model");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("tokenizer.ggml.model"), std::string::npos);
    EXPECT_NE(std::string(e.what()).find("ggml-vocab-gpt-2.gguf"), std::string::npos);
  }
  EXPECT_EQ(gpt2.get_int("missing.key", 42), 42);
  EXPECT_THROW(gpt2.get_string("missing.key"), Error);
}

TEST(Gguf, WriterRoundTripsEveryValueAndTensor) {
  TempDir dir;
  std::string path = dir.path + "/m.gguf";
  small_model_writer().write(path);
  GgufFile f(path);
  EXPECT_EQ(f.version(), 3u);
  EXPECT_EQ(f.architecture(), "llama");
  EXPECT_EQ(f.get_int("llama.block_count"), 2);
  EXPECT_FLOAT_EQ(float(f.get_float("llama.rope.freq_base")), 10000.0f);
  EXPECT_TRUE(f.get_bool("flag"));
  EXPECT_EQ(f.get_strings("tokenizer.ggml.tokens"),
            (std::vector<std::string>{"a", "b", "", "\xe2\x96\x81hello"}));
  EXPECT_EQ(f.get_ints("tokenizer.ggml.token_type"), (std::vector<int64_t>{1, 1, 3, 1}));
  EXPECT_EQ(f.get_floats("tokenizer.ggml.scores"), (std::vector<float>{0.f, -1.f, -2.5f, 3.f}));
  EXPECT_EQ(f.get_int("big"), int64_t(1) << 40);
  EXPECT_EQ(f.get_int("neg"), -7);
  ASSERT_EQ(f.tensors().size(), 2u);
  const auto& a = f.tensor("a");
  EXPECT_EQ(a.dims, (std::vector<int64_t>{4, 3}));
  EXPECT_EQ(a.type, GgmlType::kF32);
  EXPECT_EQ(a.nbytes, 48u);
  EXPECT_EQ(f.tensor_data(a)[5], 5);
  const auto& b = f.tensor("b");
  EXPECT_EQ(b.offset % 32, 0u);
  EXPECT_EQ(f.tensor_data(b)[0], 100);
  EXPECT_EQ(f.tensor_data(b)[9], 109);
  EXPECT_EQ(f.data_offset() % 32, 0u);
  EXPECT_EQ(f.find_tensor("c"), nullptr);
  EXPECT_THROW(f.tensor("c"), Error);

  // copy_value reproduces every value byte for byte.
  GgufWriter w2;
  for (auto& [k, v] : f.metadata()) w2.copy_value(k, v);
  GgufWriter w1 = small_model_writer();
  std::string b1 = w1.to_bytes(), b2 = w2.to_bytes();
  GgufFile f2 = GgufFile::parse_only(reinterpret_cast<const uint8_t*>(b2.data()), b2.size(), "x");
  ASSERT_EQ(f2.metadata().size(), f.metadata().size());
  for (size_t i = 0; i < f.metadata().size(); ++i)
    EXPECT_EQ(f2.metadata()[i].second.summary(10), f.metadata()[i].second.summary(10));
}

TEST(Gguf, CustomAlignmentIsHonoured) {
  GgufWriter w(64);
  w.add_tensor("x", {3}, GgmlType::kF32, std::vector<uint8_t>(12, 1));
  w.add_tensor("y", {3}, GgmlType::kF32, std::vector<uint8_t>(12, 2));
  std::string bytes = w.to_bytes();
  auto f = GgufFile::parse_only(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), "a");
  EXPECT_EQ(f.alignment(), 64u);
  EXPECT_EQ(f.data_offset() % 64, 0u);
  EXPECT_EQ(f.tensor("y").offset, 64u);
  EXPECT_EQ(f.tensor_data(f.tensor("y"))[0], 2);
}

TEST(Gguf, EveryTruncationIsACleanError) {
  std::string bytes = small_model_writer().to_bytes();
  // The data section's tail padding is optional; everything before the last tensor's end is not.
  GgufFile full = GgufFile::parse_only(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(),
                                       "bad.gguf");
  size_t needed = full.data_offset() + full.tensor("b").offset + full.tensor("b").nbytes;
  for (size_t n = 0; n < needed; ++n) {
    // A copy of exactly n bytes, so ASan sees any read past its end.
    std::vector<uint8_t> cut(bytes.begin(), bytes.begin() + n);
    EXPECT_THROW(GgufFile::parse_only(cut.data(), cut.size(), "bad.gguf"), Error) << n;
  }
  expect_bad(bytes.substr(0, 30), "truncated");
  expect_bad(bytes.substr(0, needed - 1), "tensor 'b' claims bytes");
}

TEST(Gguf, HostileHeadersAreRejected) {
  expect_bad("", "GGUF magic");
  expect_bad("GGML1234", "pre-GGUF");
  expect_bad(header(0, 0, 1), "version 1");
  expect_bad(header(0, 0, 7), "unsupported GGUF version 7");
  expect_bad(header(0, 0, 0x03000000), "big-endian");
  expect_bad(header(1ull << 60, 0), "claims 1152921504606846976 tensors");
  expect_bad(header(0, ~0ull), "metadata entries");
  {  // a key whose length runs past the end
    std::string s = header(0, 1);
    put<uint64_t>(s, 1ull << 62);
    s.append(16, 'x');
    expect_bad(s, "truncated");
  }
  {  // unknown value type
    std::string s = header(0, 1);
    put_str(s, "k");
    put<uint32_t>(s, 13);
    expect_bad(s, "unknown value type 13");
  }
  {  // array that claims more elements than the file holds
    std::string s = header(0, 1);
    put_str(s, "k");
    put<uint32_t>(s, 9);
    put<uint32_t>(s, 5);  // i32
    put<uint64_t>(s, 1ull << 61);
    expect_bad(s, "more than the file can hold");
  }
  {  // array of strings claiming 2^40 entries
    std::string s = header(0, 1);
    put_str(s, "k");
    put<uint32_t>(s, 9);
    put<uint32_t>(s, 8);
    put<uint64_t>(s, 1ull << 40);
    put_str(s, "x");
    expect_bad(s, "strings, more than the file can hold");
  }
  {  // nested arrays
    std::string s = header(0, 1);
    put_str(s, "k");
    put<uint32_t>(s, 9);
    put<uint32_t>(s, 9);
    put<uint64_t>(s, 0);
    expect_bad(s, "array of arrays");
  }
  {  // duplicate key
    std::string s = header(0, 2);
    for (int i = 0; i < 2; ++i) {
      put_str(s, "k");
      put<uint32_t>(s, 4);
      put<uint32_t>(s, 1);
    }
    expect_bad(s, "duplicate metadata key 'k'");
  }
  {  // alignment that is not a power of two
    std::string s = header(0, 1);
    put_str(s, "general.alignment");
    put<uint32_t>(s, 4);
    put<uint32_t>(s, 48);
    expect_bad(s, "general.alignment");
  }
}

// One tensor info with the given fields, then `data_bytes` of data at 32-byte alignment.
std::string one_tensor(std::vector<uint64_t> dims, uint32_t type, uint64_t offset,
                       size_t data_bytes, uint32_t n_dims_override = 0) {
  std::string s = header(1, 0);
  put_str(s, "t");
  put<uint32_t>(s, n_dims_override ? n_dims_override : uint32_t(dims.size()));
  for (auto d : dims) put<uint64_t>(s, d);
  put<uint32_t>(s, type);
  put<uint64_t>(s, offset);
  s.resize((s.size() + 31) / 32 * 32, '\0');
  s.append(data_bytes, '\0');
  return s;
}

TEST(Gguf, HostileTensorInfosAreRejected) {
  // Sanity: the well-formed version parses.
  std::string ok = one_tensor({8, 2}, 0, 0, 64);
  EXPECT_NO_THROW(
      GgufFile::parse_only(reinterpret_cast<const uint8_t*>(ok.data()), ok.size(), "x"));
  expect_bad(one_tensor({8, 2}, 0, 0, 63), "tensor 't' claims bytes 0..64");
  expect_bad(one_tensor({8, 2}, 0, 32, 64), "claims bytes 32..96");
  expect_bad(one_tensor({8, 2}, 0, 4, 128), "not a multiple of the alignment");
  expect_bad(one_tensor({8, 2}, 4, 0, 64), "unknown ggml type 4");
  expect_bad(one_tensor({8, 2}, 99, 0, 64), "unknown ggml type 99");
  expect_bad(one_tensor({1ull << 41, 2}, 0, 0, 64), "absurd dimension");
  expect_bad(one_tensor({0, 2}, 0, 0, 64), "absurd dimension");
  expect_bad(one_tensor({1ull << 40, 1ull << 40, 1ull << 40}, 0, 0, 64), "more elements than");
  expect_bad(one_tensor({1ull << 30, 1ull << 30}, 0, 0, 64), "more bytes than the whole file");
  expect_bad(one_tensor({8, 2}, 0, ~0ull & ~31ull, 64), "claims bytes");
  expect_bad(one_tensor({8, 2}, 8, 0, 64), "not a multiple of Q8_0's block of 32");
  expect_bad(one_tensor({}, 0, 0, 64), "0 dimensions");
  expect_bad(one_tensor({1, 1, 1, 1, 1}, 0, 0, 64), "5 dimensions");
  {  // two tensors sharing bytes
    std::string s = header(2, 0);
    for (const char* n : {"x", "y"}) {
      put_str(s, n);
      put<uint32_t>(s, 1);
      put<uint64_t>(s, 16);
      put<uint32_t>(s, 0);
      put<uint64_t>(s, std::string(n) == "x" ? 0 : 32);
    }
    s.resize((s.size() + 31) / 32 * 32, '\0');
    s.append(128, '\0');
    expect_bad(s, "overlaps");
  }
  {  // duplicate tensor names
    std::string s = header(2, 0);
    for (int i = 0; i < 2; ++i) {
      put_str(s, "x");
      put<uint32_t>(s, 1);
      put<uint64_t>(s, 8);
      put<uint32_t>(s, 0);
      put<uint64_t>(s, uint64_t(i) * 32);
    }
    s.resize((s.size() + 31) / 32 * 32, '\0');
    s.append(64, '\0');
    expect_bad(s, "duplicate tensor name 'x'");
  }
}

TEST(Gguf, FileErrorsNameThePath) {
  TempDir dir;
  std::string path = dir.path + "/broken.gguf";
  std::ofstream(path) << "GGUF\x03";
  try {
    GgufFile f(path);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
  }
  EXPECT_THROW(GgufFile(dir.path + "/missing.gguf"), Error);
}

// Random byte flips of a valid file: every outcome is either a parse or a still::Error.
TEST(Gguf, RandomCorruptionNeverCrashes) {
  std::string bytes = small_model_writer().to_bytes();
  uint64_t s = 12345;
  auto rnd = [&] {
    s ^= s << 13;
    s ^= s >> 7;
    s ^= s << 17;
    return s;
  };
  int errors = 0;
  for (int iter = 0; iter < 3000; ++iter) {
    std::vector<uint8_t> m(bytes.begin(), bytes.end());
    int flips = 1 + int(rnd() % 4);
    for (int k = 0; k < flips; ++k) m[rnd() % m.size()] ^= uint8_t(1u << (rnd() % 8));
    try {
      auto f = GgufFile::parse_only(m.data(), m.size(), "fuzz");
      for (auto& [k, v] : f.metadata()) (void)v.summary(8);
    } catch (const Error&) {
      ++errors;
    }
  }
  EXPECT_GT(errors, 0);
}

}  // namespace
}  // namespace still
