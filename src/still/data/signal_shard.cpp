#include "still/data/signal_shard.h"

#include <zstd.h>

#include <chrono>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <thread>

#include "still/io/atomic_file.h"
#include "still/util/error.h"
#include "still/util/sha256.h"

namespace still {
namespace {

constexpr char kMagic[8] = {'S', 'T', 'I', 'L', 'L', 'S', 'I', 'G'};
constexpr uint32_t kVersion = 2;
constexpr int kZstdLevel = 9;
constexpr size_t kHeaderBytes = 8 + 4 * 4 + 8 + 4 + 4 + 8 + 8;

template <typename T>
void put(std::string& s, T v) {
  s.append(reinterpret_cast<const char*>(&v), sizeof v);
}
template <typename T>
T get(const uint8_t* p) {
  T v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

// Test hook: STILL_TEST_SHARD_DELAY_MS sleeps while a shard's temp file is open, so a
// test's SIGKILL lands inside a shard write often.
void test_delay() {
  static const int ms = [] {
    const char* s = std::getenv("STILL_TEST_SHARD_DELAY_MS");
    return s ? std::atoi(s) : 0;
  }();
  if (ms > 0) std::this_thread::sleep_for(std::chrono::milliseconds(ms));
}

}  // namespace

void write_signal_shard(const std::string& path, const SignalShardInfo& info, const int32_t* ids,
                        const float* logp, const float* log_tail) {
  const int64_t bp = info.block_positions;
  const uint32_t n_blocks = uint32_t((info.positions + bp - 1) / bp);
  std::string header;
  header.append(kMagic, 8);
  put<uint32_t>(header, kVersion);
  put<uint32_t>(header, uint32_t(info.k));
  put<uint32_t>(header, uint32_t(info.vocab));
  put<uint32_t>(header, uint32_t(bp));
  put<uint64_t>(header, uint64_t(info.positions));
  put<float>(header, info.quant.logp_step);
  put<uint32_t>(header, n_blocks);
  put<double>(header, info.teacher_nats);
  put<uint64_t>(header, uint64_t(info.teacher_targets));

  std::vector<std::string> blocks(n_blocks);
  for (uint32_t b = 0; b < n_blocks; ++b) {
    int64_t p0 = int64_t(b) * bp;
    int n = int(std::min<int64_t>(bp, info.positions - p0));
    std::string raw;
    encode_signal_block(info.k, n, ids + p0 * info.k, logp + p0 * info.k, log_tail + p0, info.quant,
                        raw);
    std::string& z = blocks[b];
    z.resize(ZSTD_compressBound(raw.size()));
    size_t got = ZSTD_compress(z.data(), z.size(), raw.data(), raw.size(), kZstdLevel);
    require(!ZSTD_isError(got), std::string("zstd compression failed: ") + ZSTD_getErrorName(got));
    z.resize(got);
  }
  uint64_t off = header.size() + size_t(n_blocks) * 12;
  for (auto& z : blocks) {
    put<uint64_t>(header, off);
    put<uint32_t>(header, uint32_t(z.size()));
    off += z.size();
  }
  Sha256 h;
  h.update(header);
  for (auto& z : blocks) h.update(z);
  auto digest = h.digest();
  AtomicWriter w(path);
  w.write(header);
  test_delay();
  for (auto& z : blocks) w.write(z);
  w.write(digest.data(), digest.size());
  w.commit();
}

SignalShard::SignalShard(const std::string& path) : path_(path), map_(path) {
  auto fail = [&](const std::string& m) {
    throw Error(path_ + ": " + m + " (rerun the same `still teach` command to recreate it)");
  };
  const uint8_t* p = map_.data();
  size_t size = map_.size();
  if (size < kHeaderBytes + 32) fail("file is truncated");
  if (std::memcmp(p, kMagic, 8) != 0) fail("not a still signal shard");
  Sha256 h;
  h.update(p, size - 32);
  auto digest = h.digest();
  if (std::memcmp(digest.data(), p + size - 32, 32) != 0)
    fail("damaged: its SHA-256 does not match (truncated or modified)");
  if (get<uint32_t>(p + 8) != kVersion)
    fail("shard version " + std::to_string(get<uint32_t>(p + 8)) + " is not this still's (" +
         std::to_string(kVersion) + ")");
  info_.k = int(get<uint32_t>(p + 12));
  info_.vocab = int(get<uint32_t>(p + 16));
  info_.block_positions = int(get<uint32_t>(p + 20));
  info_.positions = int64_t(get<uint64_t>(p + 24));
  info_.quant.logp_step = get<float>(p + 32);
  uint32_t n_blocks = get<uint32_t>(p + 36);
  info_.teacher_nats = get<double>(p + 40);
  info_.teacher_targets = int64_t(get<uint64_t>(p + 48));
  if (info_.k <= 0 || info_.k > 4096 || info_.vocab <= 0 || info_.block_positions <= 0 ||
      info_.positions < 0 || !(info_.quant.logp_step > 0) || !std::isfinite(info_.teacher_nats) ||
      info_.teacher_targets < 0 || info_.teacher_targets > info_.positions)
    fail("header has impossible values");
  if (uint64_t(n_blocks) !=
      (uint64_t(info_.positions) + info_.block_positions - 1) / uint64_t(info_.block_positions))
    fail("block count does not match the position count");
  size_t index_end = kHeaderBytes + size_t(n_blocks) * 12;
  if (index_end > size - 32) fail("block index runs past the end of the file");
  uint64_t cursor = index_end;
  for (uint32_t b = 0; b < n_blocks; ++b) {
    uint64_t off = get<uint64_t>(p + kHeaderBytes + size_t(b) * 12);
    uint32_t bytes = get<uint32_t>(p + kHeaderBytes + size_t(b) * 12 + 8);
    if (off != cursor || off + bytes > size - 32) fail("block index has bad offsets");
    offsets_.push_back(off);
    sizes_.push_back(bytes);
    cursor = off + bytes;
  }
  if (cursor != size - 32) fail("bytes after the last block");
}

void SignalShard::read(int64_t pos0, int64_t n, int32_t* ids, float* logp, float* log_tail) const {
  require(pos0 >= 0 && n >= 0 && pos0 + n <= info_.positions,
          path_ + ": positions [" + std::to_string(pos0) + ", " + std::to_string(pos0 + n) +
              ") are outside the shard's " + std::to_string(info_.positions));
  const int64_t bp = info_.block_positions;
  const int k = info_.k;
  std::string raw;
  std::vector<int32_t> bids;
  std::vector<float> blp, blt;
  for (int64_t b = pos0 / bp; n > 0 && b * bp < pos0 + n; ++b) {
    int64_t b0 = b * bp;
    int bn = int(std::min<int64_t>(bp, info_.positions - b0));
    const uint8_t* src = map_.data() + offsets_[size_t(b)];
    unsigned long long raw_size = ZSTD_getFrameContentSize(src, sizes_[size_t(b)]);
    if (raw_size == ZSTD_CONTENTSIZE_ERROR || raw_size == ZSTD_CONTENTSIZE_UNKNOWN ||
        raw_size > (1ull << 30))
      throw Error(path_ + ": block " + std::to_string(b) + " is not a valid zstd frame");
    raw.resize(size_t(raw_size));
    size_t got = ZSTD_decompress(raw.data(), raw.size(), src, sizes_[size_t(b)]);
    if (ZSTD_isError(got) || got != raw.size())
      throw Error(path_ + ": block " + std::to_string(b) + " does not decompress");
    bids.resize(size_t(bn) * k);
    blp.resize(size_t(bn) * k);
    blt.resize(size_t(bn));
    decode_signal_block(k, bn, info_.vocab, raw, info_.quant, bids.data(), blp.data(), blt.data(),
                        path_ + " block " + std::to_string(b));
    int64_t lo = std::max(pos0, b0), hi = std::min(pos0 + n, b0 + bn);
    for (int64_t q = lo; q < hi; ++q) {
      std::memcpy(ids + (q - pos0) * k, bids.data() + (q - b0) * k, sizeof(int32_t) * k);
      std::memcpy(logp + (q - pos0) * k, blp.data() + (q - b0) * k, sizeof(float) * k);
      log_tail[q - pos0] = blt[size_t(q - b0)];
    }
  }
}

}  // namespace still
