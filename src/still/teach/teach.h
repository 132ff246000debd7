// `still teach`: runs a teacher over a corpus and stores its top-k signal (data/signal_dir.h).
// The corpus is tokenized with the teacher's tokenizer and packed, in document order, into
// windows of T tokens (positions restart at each document, as in training). Windows are
// processed shard by shard; each finished shard is written atomically, so a killed run
// rerun with the same command redoes only missing or damaged shards and ends with the same
// bytes as an uninterrupted run (for the same thread count).
#pragma once
#include <cstdint>
#include <string>

#include "still/data/signal_dir.h"
#include "still/formats/tokenizer/tokenizer.h"
#include "still/model/llama.h"

namespace still {

struct TeachOptions {
  std::string data;  // corpus file (signal split)
  std::string out;   // signal directory
  int k = 64;
  int window = 0;  // tokens per window; 0 = the teacher's max_seq
  int batch = 8;   // windows per forward pass
  int windows_per_shard = 64;
  float logp_step = 1.0f / 256;
  int64_t max_windows = 0;  // 0 = the whole corpus
  std::string tokenizer;    // what the teacher's tokenizer was loaded from; "" = its own
};

struct TeacherHandle {
  LlamaModel* model = nullptr;
  const Tokenizer* tokenizer = nullptr;
  std::string path;      // as the user gave it
  std::string resolved;  // the checkpoint/folder/file actually read (lineage points here)
  std::string sha256;    // identity: hash of its manifest or weights file
};

struct TeachResult {
  int64_t windows = 0, tokens = 0, shards_written = 0, shards_kept = 0;
  double seconds = 0;
  double teacher_nats_per_token = 0;  // teacher's own CE on the windows it processed
  uint64_t signal_bytes = 0;          // bytes of all shards
  double bytes_per_entry = 0;
};

TeachResult run_teach(const TeachOptions& opt, const TeacherHandle& teacher);

}  // namespace still
