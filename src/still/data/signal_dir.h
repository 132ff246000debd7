// A teacher-signal directory, as `still teach` writes it and `still distil` reads it:
//   signal.json          what the signal is: k, teacher vocab, window length, quantisation,
//                        tokenizer fingerprint, teacher identity, BOS policy, shard list
//   windows.safetensors  the exact token windows the teacher saw (tokens, positions,
//                        targets as [windows, T] int32), so the student trains on them
//   shard-00000.sig ...  the signal for windows [s·W, (s+1)·W), W = windows_per_shard
//   tokenizer/           a copy of the teacher's tokenizer files (so distil needs no teacher)
//   manifest.json        hashes of all of the above, inputs, command, compute
#pragma once
#include <cstdint>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "still/data/batch.h"
#include "still/data/signal_shard.h"
#include "still/data/teacher_rows.h"

namespace still {

struct SignalMeta {
  int k = 64;
  int teacher_vocab = 0;
  int T = 0;
  int64_t num_windows = 0;
  int windows_per_shard = 64;
  SignalQuant quant;
  std::string tokenizer_kind, tokenizer_fingerprint;
  // The signal's own copy of the teacher's tokenizer ("tokenizer", a folder inside the
  // signal) and the SHA-256 of its main file; empty for the byte tokenizer, for signals
  // made before copies were kept, and for a tokenizer only a whole-model GGUF holds.
  std::string tokenizer_file, tokenizer_sha256;
  std::string teacher;         // the teacher as given by the user
  std::string teacher_sha256;  // of its manifest (or model file)
  std::string data_sha256;     // of the corpus file
  std::string bos_policy;      // "tokenizer" (BOS/EOS as the tokenizer defines) or "none"

  int64_t num_shards() const { return (num_windows + windows_per_shard - 1) / windows_per_shard; }
  std::string shard_name(int64_t s) const;
  nlohmann::json to_json() const;
  nlohmann::json tokenizer_json() const;
  static SignalMeta from_json(const nlohmann::json& j, const std::string& what);
};

// Windows as one Batch of num_windows rows.
void save_windows(const std::string& path, const Batch& windows);
Batch load_windows(const std::string& path);

// Teacher rows for a batch: the buffers behind a TeacherRows view.
struct TeacherBuffers {
  std::vector<int32_t> ids;
  std::vector<float> logp, log_tail;
  TeacherRows view(int k, int teacher_vocab) const {
    return TeacherRows{k, ids.data(), logp.data(), log_tail.data(), teacher_vocab};
  }
};

class SignalDir {
 public:
  // Opens a finished signal: checks the manifest's hashes of every file (a damaged or
  // truncated file is named in the error) and the metadata.
  explicit SignalDir(const std::string& dir);
  const SignalMeta& meta() const { return meta_; }
  const Batch& windows() const { return windows_; }
  const std::string& dir() const { return dir_; }
  // Fills `batch` with the given windows (rows) and `teacher` with their signal.
  void fill(const std::vector<int64_t>& window_ids, Batch& batch, TeacherBuffers& teacher);

 private:
  const SignalShard& shard(int64_t s);
  std::string dir_;
  SignalMeta meta_;
  Batch windows_;
  std::map<int64_t, std::unique_ptr<SignalShard>> shards_;
};

}  // namespace still
