// A Hugging Face model folder: config.json plus model.safetensors, or shards listed in
// model.safetensors.index.json ({"weight_map": {tensor: file}}). Every shard is memory-mapped;
// tensors are found by name across shards.
#pragma once
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "still/formats/safetensors.h"

namespace still {

// The parsed index file. Shard names must be plain file names in the same folder.
struct SafetensorsIndex {
  std::map<std::string, std::string> weight_map;  // tensor name -> shard file name
  std::vector<std::string> shards;                // distinct shard names, sorted
};
// Parses and checks an index file's text; `what` names it in errors.
SafetensorsIndex parse_safetensors_index(std::string_view text, const std::string& what);

class HfModelFolder {
 public:
  explicit HfModelFolder(const std::string& dir);  // throws still::Error naming the folder/file

  const std::string& dir() const { return dir_; }
  const nlohmann::json& config_json() const { return config_; }
  bool sharded() const { return files_.size() > 1 || has_index_; }

  struct Tensor {
    const SafetensorsFile* file;
    const SafetensorsEntry* entry;
  };
  const Tensor* find(const std::string& name) const;  // nullptr when absent
  const std::map<std::string, Tensor>& tensors() const { return tensors_; }
  const std::vector<std::unique_ptr<SafetensorsFile>>& files() const { return files_; }
  // Copies a tensor out as f32 (F32, F16, BF16), checking its shape.
  void read_f32(const std::string& name, const std::vector<int64_t>& shape, float* out) const;

  // True when `dir` looks like a model folder (has config.json and some safetensors).
  static bool looks_like(const std::string& dir);

 private:
  std::string dir_;
  nlohmann::json config_;
  bool has_index_ = false;
  std::vector<std::unique_ptr<SafetensorsFile>> files_;
  std::map<std::string, Tensor> tensors_;
};

// Writes tensors as safetensors into `dir`: one model.safetensors, or, when the total exceeds
// max_shard_bytes, model-0000i-of-0000n.safetensors shards plus model.safetensors.index.json.
// Each file is written atomically.
void write_safetensors_sharded(const std::string& dir,
                               const std::vector<SafetensorsWriteEntry>& tensors,
                               uint64_t max_shard_bytes,
                               const std::map<std::string, std::string>& metadata = {});

}  // namespace still
