// Training checkpoints: run_dir/checkpoints/step-NNNNNNN/ holding
//   model.safetensors      weights, Hugging Face names, F32
//   config.json            Hugging Face config (LlamaConfig::to_hf_json)
//   optimizer.safetensors  AdamW moments (exp_avg.*, exp_avg_sq.*), step in the metadata
//   trainer_state.json     step, RNG, data position, threads, versions, run identity
//   tokenizer_info.json    kind, fingerprint, vocab size
//   tokenizer/             a copy of the tokenizer's files (not for the byte tokenizer)
//   manifest.json          SHA-256 of each file, inputs, command, compute spent
// The whole directory is written under a temp name and renamed into place, and only then
// does run_dir/latest name it: a kill at any moment leaves the previous checkpoint valid.
#pragma once
#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "still/data/manifest.h"
#include "still/formats/tokenizer/tokenizer.h"
#include "still/model/config.h"
#include "still/model/params.h"

namespace still::train {

struct CheckpointContents {
  int64_t step = 0;
  const LlamaConfig* config = nullptr;
  const ParamLayout* layout = nullptr;
  const float* params = nullptr;
  const float* adam_m = nullptr;  // null: no optimizer state is written
  const float* adam_v = nullptr;
  int64_t adam_step = 0;
  nlohmann::json trainer_state = nlohmann::json::object();
  nlohmann::json tokenizer_info = nlohmann::json::object();  // kind, fingerprint, vocab_size
  // Files that define the tokenizer (tokenizer_source_files), copied into tokenizer/.
  std::vector<std::string> tokenizer_files;
  Manifest manifest;  // kind, command, inputs, compute: filled by the caller
};

// The files that define the tokenizer at `path` (a file or a model directory), as
// load_tokenizer reads them: tokenizer.json (+ tokenizer_config.json), encoder.json +
// vocab.bpe, a SentencePiece .model, or a GGUF file. Empty for "bytes".
std::vector<std::string> tokenizer_source_files(const std::string& path);

// Copies `files` (from tokenizer_source_files) into dir/tokenizer/, the first under the name
// load_tokenizer() looks for in a folder (a tokenizer.json may have been called tok.json), and
// adds them to `m`. Returns the SHA-256 of the first file's copy. An artifact that carries its
// tokenizer this way needs nothing outside itself, whatever the cwd of whoever reads it.
std::string copy_tokenizer_files(const std::vector<std::string>& files, const std::string& dir,
                                 Manifest& m);

std::string checkpoint_name(int64_t step);  // "step-0000042"
std::string checkpoints_dir(const std::string& run_dir);

// Writes the checkpoint of c.step, points run_dir/latest at it, then keeps only the `keep`
// newest checkpoints. Returns the checkpoint's directory. On failure (disk full...) throws
// still::Error and leaves the previous checkpoints and `latest` untouched.
std::string save_checkpoint(const std::string& run_dir, const CheckpointContents& c, int keep = 2);

// Removes temp directories that a killed save left behind.
void remove_stale_temps(const std::string& run_dir);
// The newest checkpoint directory of a run, or "" when it has none.
std::string newest_checkpoint(const std::string& run_dir);
// A checkpoint directory itself, or a run directory (its `latest` checkpoint).
std::string resolve_checkpoint(const std::string& path);

struct CheckpointInfo {
  std::string dir;
  LlamaConfig config;
  nlohmann::json trainer_state, tokenizer_info;
  Manifest manifest;
  int64_t step() const { return trainer_state.value("step", int64_t(0)); }
};

// Reads the JSON parts of a checkpoint. With `verify`, first re-hashes every file against
// the manifest. Throws still::Error naming the damaged or missing file.
CheckpointInfo open_checkpoint(const std::string& dir, bool verify);
void load_checkpoint_weights(const CheckpointInfo& ck, const ParamLayout& layout, float* params);
// Returns AdamW's step count.
int64_t load_checkpoint_optimizer(const CheckpointInfo& ck, const ParamLayout& layout, float* m,
                                  float* v);
// The tokenizer the checkpoint was trained with (checks its fingerprint).
std::unique_ptr<Tokenizer> load_checkpoint_tokenizer(const CheckpointInfo& ck);

}  // namespace still::train
