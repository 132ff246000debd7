// A teacher-signal shard (.sig): a header, a block index, zstd-compressed blocks of encoded
// positions (data/signal_codec.h) and a SHA-256 trailer over everything before it, so
// damage or truncation is detected when the shard is opened. Blocks give random access.
//
//   "STILLSIG" | u32 version=2 | u32 k | u32 vocab | u32 block_positions | u64 positions
//   | f32 logp_step | u32 n_blocks | f64 teacher_nats | u64 teacher_targets
//   | n_blocks × (u64 offset, u32 bytes) | blocks | sha256[32]
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "still/data/signal_codec.h"
#include "still/io/mapped_file.h"

namespace still {

struct SignalShardInfo {
  int k = 0, vocab = 0, block_positions = 256;
  int64_t positions = 0;
  SignalQuant quant;
  // The teacher's summed cross-entropy on the shard's targets and how many there were, so a
  // resumed `still teach` reports the same totals as an uninterrupted one.
  double teacher_nats = 0;
  int64_t teacher_targets = 0;
};

// Writes positions [0, info.positions) atomically. ids/logp are [positions, k].
void write_signal_shard(const std::string& path, const SignalShardInfo& info, const int32_t* ids,
                        const float* logp, const float* log_tail);

class SignalShard {
 public:
  // Maps the file and checks its hash and structure; throws still::Error naming the file.
  explicit SignalShard(const std::string& path);
  const SignalShardInfo& info() const { return info_; }
  // Decodes positions [pos0, pos0 + n) into [n, k] ids/logp and [n] log_tail.
  void read(int64_t pos0, int64_t n, int32_t* ids, float* logp, float* log_tail) const;
  // Total bytes on disk.
  size_t file_bytes() const { return map_.size(); }

 private:
  std::string path_;
  MappedFile map_;
  SignalShardInfo info_;
  std::vector<uint64_t> offsets_;
  std::vector<uint32_t> sizes_;
};

}  // namespace still
