// Hostile safetensors files (one-line errors naming the file, never a crash or an out-of-bounds
// read), and a sparse 2 GiB model that opens by mapping, not copying.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "still/formats/gguf.h"
#include "still/formats/hf_model.h"
#include "still/formats/safetensors.h"
#include "still/io/atomic_file.h"
#include "still/model/params.h"
#include "still/modelio/load.h"
#include "still/util/error.h"
#include "test_helpers.h"

namespace still {
namespace {

// A safetensors image with the given JSON header and `data` bytes after it.
std::string st_bytes(const std::string& header, size_t data, uint64_t claimed_len = 0) {
  std::string s(8, '\0');
  uint64_t n = claimed_len ? claimed_len : header.size();
  for (int i = 0; i < 8; ++i) s[size_t(i)] = char(n >> (8 * i));
  return s + header + std::string(data, '\0');
}

void expect_bad(const std::string& bytes, const std::string& needle) {
  std::vector<uint8_t> copy(bytes.begin(), bytes.end());  // exact size, so ASan sees overreads
  try {
    SafetensorsFile::parse_only(copy.data(), copy.size(), "bad.safetensors");
    ADD_FAILURE() << "accepted; expected an error containing '" << needle << "'";
  } catch (const Error& e) {
    std::string m = e.what();
    EXPECT_EQ(m.rfind("bad.safetensors: ", 0), 0u) << m;
    EXPECT_EQ(m.find('\n'), std::string::npos) << m;
    EXPECT_NE(m.find(needle), std::string::npos) << m;
  }
}

std::string one(const std::string& dtype, const std::string& shape, uint64_t b, uint64_t e) {
  return "{\"t\":{\"dtype\":\"" + dtype + "\",\"shape\":" + shape + ",\"data_offsets\":[" +
         std::to_string(b) + "," + std::to_string(e) + "]}}";
}

TEST(Safetensors, HostileFilesAreRejectedWithOneLine) {
  // Sanity: a well-formed one parses.
  auto ok = st_bytes(one("F32", "[2,3]", 0, 24), 24);
  EXPECT_NO_THROW(
      SafetensorsFile::parse_only(reinterpret_cast<const uint8_t*>(ok.data()), ok.size(), "x"));
  expect_bad("", "too short");
  expect_bad(st_bytes(one("F32", "[2,3]", 0, 24), 24, 1ull << 40), "exceeds 100 MB");
  expect_bad(st_bytes(one("F32", "[2,3]", 0, 24), 0, 5000), "truncated");
  expect_bad(st_bytes("not json", 0), "not a JSON object");
  expect_bad(st_bytes("[1,2]", 0), "not a JSON object");
  expect_bad(st_bytes(one("F32", "[2,3]", 0, 24), 23), "truncated");                 // short data
  expect_bad(st_bytes(one("F32", "[2,3]", 0, 24), 25), "1 bytes no tensor claims");  // extra
  expect_bad(st_bytes(one("F32", "[2,3]", 0, 20), 20), "needs 24 bytes but has 20");
  expect_bad(st_bytes(one("F32", "[2,3]", 24, 0), 24), "ends before it begins");
  expect_bad(st_bytes(one("F32", "[2,3]", 0, ~0ull), 24), "truncated");
  expect_bad(st_bytes(one("Q9", "[2,3]", 0, 24), 24), "unknown dtype 'Q9'");
  expect_bad(st_bytes(one("F32", "[-2,3]", 0, 24), 24), "negative or non-integer");
  expect_bad(st_bytes(one("F32", "[2.5,3]", 0, 24), 24), "negative or non-integer");
  expect_bad(st_bytes(one("F32", "[1099511627777]", 0, 24), 24), "absurd dimension");
  expect_bad(st_bytes(one("F32", "[1,1,1,1,1,1,1,1,1]", 0, 4), 4), "too many dimensions");
  // Products that wrap around 2^128 must not pass as 0 bytes.
  expect_bad(st_bytes(one("F32", "[1099511627776,1099511627776,1099511627776,256]", 0, 0), 0),
             "more bytes than any file holds");
  expect_bad(st_bytes("{\"t\":{\"dtype\":\"F32\",\"shape\":[1]}}", 0), "data_offsets");
  expect_bad(st_bytes("{\"t\":{\"dtype\":\"F32\",\"data_offsets\":[0,4]}}", 4), "shape");
  expect_bad(st_bytes("{\"t\":3}", 0), "not an object");
  expect_bad(st_bytes("{\"__metadata__\":{\"a\":1}}", 0), "is not a string");
  // Overlapping and gapped tensors.
  expect_bad(st_bytes("{\"a\":{\"dtype\":\"U8\",\"shape\":[4],\"data_offsets\":[0,4]},"
                      "\"b\":{\"dtype\":\"U8\",\"shape\":[4],\"data_offsets\":[2,6]}}",
                      6),
             "overlaps");
  expect_bad(st_bytes("{\"a\":{\"dtype\":\"U8\",\"shape\":[4],\"data_offsets\":[0,4]},"
                      "\"b\":{\"dtype\":\"U8\",\"shape\":[4],\"data_offsets\":[6,10]}}",
                      10),
             "gap in the data section before tensor 'b'");
}

TEST(Safetensors, EveryTruncationAndRandomCorruptionIsClean) {
  std::string good = st_bytes(
      "{\"__metadata__\":{\"format\":\"pt\"},"
      "\"a\":{\"dtype\":\"BF16\",\"shape\":[2,2],\"data_offsets\":[0,8]},"
      "\"b\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[8,20]}}",
      20);
  for (size_t n = 0; n < good.size(); ++n) {
    std::vector<uint8_t> cut(good.begin(), good.begin() + long(n));
    EXPECT_THROW(SafetensorsFile::parse_only(cut.data(), cut.size(), "t"), Error) << n;
  }
  uint64_t s = 99;
  for (int iter = 0; iter < 3000; ++iter) {
    std::vector<uint8_t> m(good.begin(), good.end());
    s = s * 6364136223846793005ull + 1442695040888963407ull;
    m[(s >> 33) % m.size()] ^= uint8_t(1u << ((s >> 20) % 8));
    try {
      auto f = SafetensorsFile::parse_only(m.data(), m.size(), "t");
      for (auto& t : f.tensors()) EXPECT_LE(t.end, m.size());
    } catch (const Error&) {
    }
  }
}

long resident_kib() {
  std::ifstream f("/proc/self/statm");
  long size = 0, resident = 0;
  f >> size >> resident;
  return resident * (sysconf(_SC_PAGESIZE) / 1024);
}

// Writes `header_bytes` then extends the file to `total` bytes without writing them (sparse).
void write_sparse(const std::string& path, const std::string& header_bytes, uint64_t total) {
  {
    std::ofstream f(path, std::ios::binary);
    f.write(header_bytes.data(), std::streamsize(header_bytes.size()));
  }
  ASSERT_EQ(::truncate(path.c_str(), off_t(total)), 0);
}

// A 2 GiB model (Llama shape, F32, sparse on disk) opens by mapping: the time is logged and
// resident memory must not grow by anything like the file's size.
TEST(MappedModels, SparseTwoGigabyteModelsOpenWithoutCopying) {
  TempDir dir;
  LlamaConfig c;
  c.dim = 2048;
  c.n_layers = 8;
  c.n_heads = 16;
  c.n_kv_heads = 16;
  c.head_dim = 128;
  c.ffn_dim = 5632;
  c.vocab_size = 32000;
  c.max_seq = 2048;
  ParamLayout layout(c);
  nlohmann::ordered_json h = nlohmann::ordered_json::object();
  uint64_t off = 0;
  for (auto& t : layout.tensors()) {
    h[t.name] = {{"dtype", "F32"}, {"shape", t.shape}, {"data_offsets", {off, off + t.numel * 4}}};
    off += t.numel * 4;
  }
  ASSERT_GT(off, 2000ull << 20);
  std::string header = h.dump();
  while (header.size() % 8) header += ' ';
  std::string hf = dir.path + "/hf";
  make_dirs(hf);
  write_file_atomic(hf + "/config.json", [&] {
    auto j = c.to_hf_json();
    return j.dump();
  }());
  write_sparse(hf + "/model.safetensors", st_bytes(header, 0), 8 + header.size() + off);

  long rss0 = resident_kib();
  auto t0 = std::chrono::steady_clock::now();
  LlamaConfig back = read_model_config(hf);
  HfModelFolder folder(hf);
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  long grown = resident_kib() - rss0;
  std::printf("[mmap] 2 GiB safetensors model (%.2f GiB): opened in %.3f s, resident +%ld KiB\n",
              double(off) / (1 << 30), secs, grown);
  EXPECT_EQ(back.dim, 2048);
  EXPECT_EQ(folder.tensors().size(), layout.tensors().size());
  EXPECT_LT(grown, 64 * 1024);  // far below the 2 GiB a copy would take
  EXPECT_LT(secs, 5.0);         // generous sanity bound only

  // The same for a GGUF: one 2 GiB F32 tensor.
  std::string g = "GGUF";
  auto put64 = [&](uint64_t v) { g.append(reinterpret_cast<const char*>(&v), 8); };
  auto put32 = [&](uint32_t v) { g.append(reinterpret_cast<const char*>(&v), 4); };
  put32(3);
  put64(1);
  put64(0);
  put64(1);
  g += "w";
  put32(2);
  put64(1ull << 14);
  put64(1ull << 15);
  put32(0);
  put64(0);
  g.resize((g.size() + 31) / 32 * 32, '\0');
  std::string gpath = dir.path + "/big.gguf";
  write_sparse(gpath, g, g.size() + (2ull << 30));
  rss0 = resident_kib();
  t0 = std::chrono::steady_clock::now();
  GgufFile gf(gpath);
  secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  grown = resident_kib() - rss0;
  std::printf("[mmap] 2 GiB GGUF: opened in %.3f s, resident +%ld KiB\n", secs, grown);
  EXPECT_EQ(gf.tensor("w").nbytes, 2ull << 30);
  EXPECT_LT(grown, 64 * 1024);
  EXPECT_LT(secs, 5.0);
}

}  // namespace
}  // namespace still
