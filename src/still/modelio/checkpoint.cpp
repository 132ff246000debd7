#include "still/modelio/checkpoint.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <thread>

#include "still/formats/gguf.h"
#include "still/io/atomic_file.h"
#include "still/modelio/weights_io.h"
#include "still/util/error.h"
#include "still/util/log.h"
#include "still/util/sha256.h"

namespace still::train {
namespace fs = std::filesystem;
namespace {

constexpr const char* kTmpPrefix = ".tmp-";

// Test hook: STILL_TEST_CHECKPOINT_DELAY_MS sleeps between the files of a checkpoint, so a
// test's SIGKILL lands inside a save often.
void test_delay() {
  static const int ms = [] {
    const char* s = std::getenv("STILL_TEST_CHECKPOINT_DELAY_MS");
    return s ? std::atoi(s) : 0;
  }();
  if (ms > 0) std::this_thread::sleep_for(std::chrono::milliseconds(ms));
}

// Step number of a "step-NNNNNNN" directory name, or -1.
int64_t parse_step(const std::string& name) {
  if (name.rfind("step-", 0) != 0 || name.size() <= 5) return -1;
  int64_t v = 0;
  for (size_t i = 5; i < name.size(); ++i) {
    if (name[i] < '0' || name[i] > '9') return -1;
    v = v * 10 + (name[i] - '0');
  }
  return v;
}

// Completed checkpoints of a run, oldest first.
std::vector<std::pair<int64_t, std::string>> list_checkpoints(const std::string& run_dir) {
  std::vector<std::pair<int64_t, std::string>> out;
  std::string dir = checkpoints_dir(run_dir);
  if (!dir_exists(dir)) return out;
  for (auto& e : fs::directory_iterator(dir)) {
    int64_t s = parse_step(e.path().filename().string());
    if (s >= 0 && e.is_directory()) out.emplace_back(s, e.path().string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

void write_json(const std::string& path, const nlohmann::json& j) {
  write_file_atomic(path, j.dump(2) + "\n");
}

nlohmann::json read_json(const std::string& path) {
  auto j = nlohmann::json::parse(read_file(path), nullptr, false);
  require(!j.is_discarded(), path + " is not valid JSON: the checkpoint is damaged");
  return j;
}

// The name a tokenizer file gets in a checkpoint's tokenizer/: the primary file under the
// name load_tokenizer() looks for in a folder (a tokenizer.json may have been called
// tok.json), companions under their own.
std::string copy_name(const std::string& file, bool primary) {
  std::string name = fs::path(file).filename().string();
  if (!primary || name == "encoder.json" || is_gguf_file(file)) return name;
  if (is_tokenizer_json_file(file)) return "tokenizer.json";
  return "tokenizer.model";  // the only other primary file: a SentencePiece model
}

}  // namespace

std::vector<std::string> tokenizer_source_files(const std::string& path) {
  if (path == "bytes") return {};
  std::string file = path;
  if (dir_exists(path)) {
    file.clear();
    for (const char* f : {"tokenizer.json", "encoder.json", "tokenizer.model"})
      if (file.empty() && file_exists(path_join(path, f))) file = path_join(path, f);
    if (file.empty())
      for (auto& e : fs::directory_iterator(path))
        if (e.path().extension() == ".gguf") file = e.path().string();
    require(!file.empty(), path + ": no tokenizer file in this directory");
  }
  // A GGUF that carries a whole model is not copied (the checkpoint records its path).
  if (fs::path(file).extension() == ".gguf" && fs::file_size(file) > (64u << 20)) return {};
  std::vector<std::string> out = {file};
  std::string name = fs::path(file).filename().string();
  std::string beside = name == "encoder.json"         ? "vocab.bpe"
                       : is_tokenizer_json_file(file) ? "tokenizer_config.json"
                                                      : "";
  if (!beside.empty() && file_exists(path_join(parent_dir(file), beside)))
    out.push_back(path_join(parent_dir(file), beside));
  return out;
}

std::string copy_tokenizer_files(const std::vector<std::string>& files, const std::string& dir,
                                 Manifest& m) {
  require(!files.empty(), "internal: no tokenizer files to copy into ", dir);
  make_dirs(path_join(dir, "tokenizer"));
  std::string first;
  for (size_t i = 0; i < files.size(); ++i) {
    std::string rel = "tokenizer/" + copy_name(files[i], i == 0);
    write_file_atomic(path_join(dir, rel), read_file(files[i]));
    m.add_file(dir, rel);
    if (i == 0) first = sha256_file(path_join(dir, rel));
  }
  return first;
}

std::string checkpoint_name(int64_t step) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "step-%07lld", (long long)step);
  return buf;
}

std::string checkpoints_dir(const std::string& run_dir) {
  return path_join(run_dir, "checkpoints");
}

void remove_stale_temps(const std::string& run_dir) {
  std::string dir = checkpoints_dir(run_dir);
  if (!dir_exists(dir)) return;
  for (auto& e : fs::directory_iterator(dir))
    if (e.path().filename().string().rfind(kTmpPrefix, 0) == 0) remove_tree(e.path().string());
}

std::string save_checkpoint(const std::string& run_dir, const CheckpointContents& c, int keep) {
  require(c.config && c.layout && c.params, "internal: incomplete checkpoint contents");
  std::string root = checkpoints_dir(run_dir);
  make_dirs(root);
  std::string name = checkpoint_name(c.step);
  std::string final_dir = path_join(root, name);
  std::string tmp =
      path_join(root, std::string(kTmpPrefix) + name + "-" + std::to_string(getpid()));
  remove_tree(tmp);
  make_dirs(tmp);
  try {
    Manifest m = c.manifest;
    m.kind = "checkpoint";
    write_param_safetensors(path_join(tmp, "model.safetensors"), *c.layout, {{"", c.params}},
                            {{"step", std::to_string(c.step)}});
    m.add_file(tmp, "model.safetensors");
    test_delay();
    write_json(path_join(tmp, "config.json"), c.config->to_hf_json());
    m.add_file(tmp, "config.json");
    if (c.adam_m && c.adam_v) {
      write_param_safetensors(path_join(tmp, "optimizer.safetensors"), *c.layout,
                              {{"exp_avg.", c.adam_m}, {"exp_avg_sq.", c.adam_v}},
                              {{"adamw_step", std::to_string(c.adam_step)}});
      m.add_file(tmp, "optimizer.safetensors");
      test_delay();
    }
    write_json(path_join(tmp, "trainer_state.json"), c.trainer_state);
    m.add_file(tmp, "trainer_state.json");
    nlohmann::json tok = c.tokenizer_info;
    if (!c.tokenizer_files.empty()) {
      tok["sha256"] = copy_tokenizer_files(c.tokenizer_files, tmp, m);
      tok["file"] = "tokenizer";
    }
    write_json(path_join(tmp, "tokenizer_info.json"), tok);
    m.add_file(tmp, "tokenizer_info.json");
    m.extra["step"] = c.step;
    m.write(tmp);
    test_delay();
    if (fs::exists(final_dir)) {
      // Only a rerun of an already saved step gets here; that checkpoint is complete (it was
      // renamed into place whole), so keep it.
      remove_tree(tmp);
    } else {
      rename_dir_into_place(tmp, final_dir);
    }
  } catch (...) {
    remove_tree(tmp);
    throw;
  }
  test_delay();
  write_file_atomic(path_join(run_dir, "latest"), name + "\n");
  // Keep the newest `keep`: rename each old one to a temp name first, so a kill in the middle
  // of deleting never leaves a half-deleted directory that looks like a checkpoint.
  auto all = list_checkpoints(run_dir);
  for (size_t i = 0; i + size_t(keep) < all.size(); ++i) {
    std::string doomed = path_join(
        root, std::string(kTmpPrefix) + "del-" + fs::path(all[i].second).filename().string());
    std::error_code ec;
    fs::rename(all[i].second, doomed, ec);
    if (!ec) remove_tree(doomed);
  }
  return final_dir;
}

std::string newest_checkpoint(const std::string& run_dir) {
  auto all = list_checkpoints(run_dir);
  return all.empty() ? "" : all.back().second;
}

std::string resolve_checkpoint(const std::string& path) {
  if (file_exists(path_join(path, "model.safetensors")) &&
      file_exists(path_join(path, "config.json")))
    return path;
  std::string latest = path_join(path, "latest");
  if (file_exists(latest)) {
    std::string name = read_file(latest);
    while (!name.empty() && (name.back() == '\n' || name.back() == ' ')) name.pop_back();
    std::string dir = path_join(checkpoints_dir(path), name);
    if (dir_exists(dir)) return dir;
  }
  std::string newest = newest_checkpoint(path);
  require(!newest.empty(), path +
                               " holds no checkpoint (expected a run directory from 'still "
                               "train --out' or a checkpoint directory)");
  return newest;
}

CheckpointInfo open_checkpoint(const std::string& dir, bool verify) {
  CheckpointInfo ck;
  ck.dir = dir;
  require(file_exists(path_join(dir, Manifest::kFileName)),
          path_join(dir, Manifest::kFileName) + " is missing: " + dir +
              " is not a complete checkpoint; delete it to fall back to the previous one");
  ck.manifest = Manifest::load(dir);
  if (verify) ck.manifest.verify(dir);
  try {
    ck.config = LlamaConfig::from_json(read_json(path_join(dir, "config.json")));
  } catch (const Error& e) {
    throw Error(path_join(dir, "config.json") + ": " + e.what());
  }
  ck.trainer_state = read_json(path_join(dir, "trainer_state.json"));
  ck.tokenizer_info = read_json(path_join(dir, "tokenizer_info.json"));
  return ck;
}

void load_checkpoint_weights(const CheckpointInfo& ck, const ParamLayout& layout, float* params) {
  read_param_safetensors(path_join(ck.dir, "model.safetensors"), layout, {{"", params}});
}

int64_t load_checkpoint_optimizer(const CheckpointInfo& ck, const ParamLayout& layout, float* m,
                                  float* v) {
  std::string p = path_join(ck.dir, "optimizer.safetensors");
  auto meta = read_param_safetensors(p, layout, {{"exp_avg.", m}, {"exp_avg_sq.", v}});
  auto it = meta.find("adamw_step");
  require(it != meta.end(), p + " has no adamw_step in its metadata: the checkpoint is damaged");
  return std::stoll(it->second);
}

std::unique_ptr<Tokenizer> load_checkpoint_tokenizer(const CheckpointInfo& ck) {
  std::string kind = ck.tokenizer_info.value("kind", "bytes");
  std::string file = ck.tokenizer_info.value("file", "");
  std::string source = ck.tokenizer_info.value("source", "");
  require(kind == "bytes" || !file.empty() || !source.empty(),
          ck.dir + ": the checkpoint names a " + kind + " tokenizer but holds no copy of it");
  std::unique_ptr<Tokenizer> tok = !file.empty()     ? load_tokenizer(path_join(ck.dir, file))
                                   : kind == "bytes" ? load_tokenizer("bytes")
                                                     : load_tokenizer(source);
  std::string fp = ck.tokenizer_info.value("fingerprint", "");
  require(fp.empty() || fp == tok->fingerprint(),
          ck.dir +
              ": the tokenizer's fingerprint does not match tokenizer_info.json; the "
              "checkpoint is damaged");
  return tok;
}

}  // namespace still::train
