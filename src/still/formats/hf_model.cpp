#include "still/formats/hf_model.h"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <set>

#include "still/io/atomic_file.h"
#include "still/util/error.h"

namespace still {
namespace {

constexpr const char* kIndexName = "model.safetensors.index.json";

bool plain_file_name(const std::string& s) {
  return !s.empty() && s.size() < 256 && s.find('/') == std::string::npos &&
         s.find('\\') == std::string::npos && s != "." && s != ".." &&
         s.find('\0') == std::string::npos;
}

std::string shape_str(const std::vector<int64_t>& s) {
  std::string r = "[";
  for (size_t i = 0; i < s.size(); ++i) r += (i ? ", " : "") + std::to_string(s[i]);
  return r + "]";
}

}  // namespace

SafetensorsIndex parse_safetensors_index(std::string_view text, const std::string& what) {
  auto fail = [&](const std::string& msg) {
    throw Error(what + ": " + msg + " (not a valid safetensors index; re-download the model)");
  };
  auto j = nlohmann::json::parse(text.begin(), text.end(), nullptr, false);
  if (j.is_discarded() || !j.is_object()) fail("is not a JSON object");
  auto wm = j.find("weight_map");
  if (wm == j.end() || !wm->is_object()) fail("has no \"weight_map\" object");
  if (wm->empty()) fail("\"weight_map\" is empty");
  SafetensorsIndex idx;
  std::set<std::string> shards;
  for (auto it = wm->begin(); it != wm->end(); ++it) {
    if (!it.value().is_string()) fail("weight_map entry '" + it.key() + "' is not a file name");
    std::string file = it.value().get<std::string>();
    if (!plain_file_name(file))
      fail("weight_map entry '" + it.key() + "' names '" + file +
           "', which is not a plain file name in the model folder");
    idx.weight_map[it.key()] = file;
    shards.insert(file);
  }
  idx.shards.assign(shards.begin(), shards.end());
  return idx;
}

bool HfModelFolder::looks_like(const std::string& dir) {
  if (!dir_exists(dir) || !file_exists(path_join(dir, "config.json"))) return false;
  if (file_exists(path_join(dir, kIndexName))) return true;
  if (file_exists(path_join(dir, "model.safetensors"))) return true;
  std::error_code ec;
  for (auto& e : std::filesystem::directory_iterator(dir, ec))
    if (e.path().extension() == ".safetensors") return true;
  return false;
}

HfModelFolder::HfModelFolder(const std::string& dir) : dir_(dir) {
  require(dir_exists(dir), "model folder " + dir + " does not exist");
  std::string cfg_path = path_join(dir, "config.json");
  require(file_exists(cfg_path), dir + " has no config.json (not a Hugging Face model folder)");
  config_ = nlohmann::json::parse(read_file(cfg_path), nullptr, false);
  require(!config_.is_discarded() && config_.is_object(), cfg_path + " is not a JSON object");

  std::vector<std::string> shard_names;
  std::string index_path = path_join(dir, kIndexName);
  SafetensorsIndex index;
  if (file_exists(index_path)) {
    has_index_ = true;
    index = parse_safetensors_index(read_file(index_path), index_path);
    shard_names = index.shards;
  } else if (file_exists(path_join(dir, "model.safetensors"))) {
    shard_names = {"model.safetensors"};
  } else {
    std::error_code ec;
    for (auto& e : std::filesystem::directory_iterator(dir, ec))
      if (e.path().extension() == ".safetensors") shard_names.push_back(e.path().filename());
    std::sort(shard_names.begin(), shard_names.end());
    require(!shard_names.empty(), dir + " has no *.safetensors weights");
  }
  for (auto& name : shard_names) {
    std::string p = path_join(dir, name);
    require(file_exists(p), index_path + " lists shard " + name + ", which is missing from " + dir);
    files_.push_back(std::make_unique<SafetensorsFile>(p));
    const SafetensorsFile* f = files_.back().get();
    for (auto& e : f->tensors()) {
      auto [it, inserted] = tensors_.emplace(e.name, Tensor{f, &e});
      require(inserted, dir + ": tensor '" + e.name + "' appears in both " +
                            it->second.file->path() + " and " + f->path());
    }
  }
  if (has_index_) {
    for (auto& [name, file] : index.weight_map) {
      auto it = tensors_.find(name);
      require(it != tensors_.end() && it->second.file->path() == path_join(dir, file),
              index_path + ": tensor '" + name + "' is listed in " + file +
                  " but that shard does not hold it");
    }
  }
}

const HfModelFolder::Tensor* HfModelFolder::find(const std::string& name) const {
  auto it = tensors_.find(name);
  return it == tensors_.end() ? nullptr : &it->second;
}

void HfModelFolder::read_f32(const std::string& name, const std::vector<int64_t>& shape,
                             float* out) const {
  const Tensor* t = find(name);
  require(t != nullptr, dir_ + ": tensor '" + name + "' is missing");
  require(t->entry->shape == shape, t->file->path() + ": tensor '" + name + "' has shape " +
                                        shape_str(t->entry->shape) + ", config.json implies " +
                                        shape_str(shape));
  t->file->read_f32(name, out, t->entry->numel());
}

void write_safetensors_sharded(const std::string& dir,
                               const std::vector<SafetensorsWriteEntry>& tensors,
                               uint64_t max_shard_bytes,
                               const std::map<std::string, std::string>& metadata) {
  auto bytes_of = [](const SafetensorsWriteEntry& t) {
    uint64_t n = dtype_size(t.dtype);
    for (auto d : t.shape) n *= uint64_t(d);
    return n;
  };
  uint64_t total = 0;
  for (auto& t : tensors) total += bytes_of(t);
  make_dirs(dir);
  std::string index_path = path_join(dir, kIndexName);
  if (total <= max_shard_bytes) {
    write_safetensors(path_join(dir, "model.safetensors"), tensors, metadata);
    if (file_exists(index_path)) std::filesystem::remove(index_path);
    return;
  }
  // Greedy split in order; a tensor larger than the limit gets a shard of its own.
  std::vector<std::vector<SafetensorsWriteEntry>> shards(1);
  uint64_t in_shard = 0;
  for (auto& t : tensors) {
    uint64_t b = bytes_of(t);
    if (!shards.back().empty() && in_shard + b > max_shard_bytes) {
      shards.emplace_back();
      in_shard = 0;
    }
    shards.back().push_back(t);
    in_shard += b;
  }
  nlohmann::ordered_json index;
  index["metadata"] = {{"total_size", total}};
  index["weight_map"] = nlohmann::ordered_json::object();
  for (size_t i = 0; i < shards.size(); ++i) {
    char name[64];
    std::snprintf(name, sizeof name, "model-%05zu-of-%05zu.safetensors", i + 1, shards.size());
    write_safetensors(path_join(dir, name), shards[i], metadata);
    for (auto& t : shards[i]) index["weight_map"][t.name] = name;
  }
  write_file_atomic(index_path, index.dump(2) + "\n");
  std::string single = path_join(dir, "model.safetensors");
  if (file_exists(single)) std::filesystem::remove(single);
}

}  // namespace still
