#include "still/data/signal_dir.h"

#include <cstdio>
#include <cstring>
#include <type_traits>

#include "still/data/manifest.h"
#include "still/formats/safetensors.h"
#include "still/io/atomic_file.h"
#include "still/util/error.h"
#include "still/util/json_number.h"

namespace still {

std::string SignalMeta::shard_name(int64_t s) const {
  char buf[32];
  std::snprintf(buf, sizeof buf, "shard-%05lld.sig", (long long)s);
  return buf;
}

nlohmann::json SignalMeta::tokenizer_json() const {
  nlohmann::json t = {{"kind", tokenizer_kind}, {"fingerprint", tokenizer_fingerprint}};
  if (!tokenizer_file.empty()) {
    t["file"] = tokenizer_file;
    t["sha256"] = tokenizer_sha256;
  }
  return t;
}

nlohmann::json SignalMeta::to_json() const {
  return {{"format", "still-signal/1"},
          {"k", k},
          {"teacher_vocab", teacher_vocab},
          {"window_tokens", T},
          {"num_windows", num_windows},
          {"windows_per_shard", windows_per_shard},
          {"quantization",
           {{"top1_and_tail_step_nats", 1.0 / 1024},
            {"logp_step_nats", quant.logp_step},
            {"levels", 256},
            {"compression", "zstd-9"}}},
          {"tokenizer", tokenizer_json()},
          {"teacher", {{"path", teacher}, {"sha256", teacher_sha256}}},
          {"data_sha256", data_sha256},
          {"bos_policy", bos_policy}};
}

SignalMeta SignalMeta::from_json(const nlohmann::json& j, const std::string& what) {
  SignalMeta m;
  try {
    require(j.at("format") == "still-signal/1", what + ": unknown signal format");
    // Range-checked before conversion: a float or huge number is an error, not UB.
    auto num = [&](const nlohmann::json& v, auto& out, const char* key) {
      auto x = json_number_as<std::remove_reference_t<decltype(out)>>(v);
      require(x.has_value(), what, ": signal metadata field ", key, " is out of range");
      out = *x;
    };
    num(j.at("k"), m.k, "k");
    num(j.at("teacher_vocab"), m.teacher_vocab, "teacher_vocab");
    num(j.at("window_tokens"), m.T, "window_tokens");
    num(j.at("num_windows"), m.num_windows, "num_windows");
    num(j.at("windows_per_shard"), m.windows_per_shard, "windows_per_shard");
    num(j.at("quantization").at("logp_step_nats"), m.quant.logp_step, "logp_step_nats");
    m.tokenizer_kind = j.at("tokenizer").at("kind");
    m.tokenizer_fingerprint = j.at("tokenizer").at("fingerprint");
    m.tokenizer_file = j.at("tokenizer").value("file", "");
    m.tokenizer_sha256 = j.at("tokenizer").value("sha256", "");
    require(m.tokenizer_file.empty() || m.tokenizer_file == "tokenizer",
            what + ": the signal's tokenizer must be its tokenizer/ folder");
    m.teacher = j.at("teacher").at("path");
    m.teacher_sha256 = j.at("teacher").at("sha256");
    m.data_sha256 = j.at("data_sha256");
    m.bos_policy = j.at("bos_policy");
  } catch (const nlohmann::json::exception& e) {
    throw Error(what + ": malformed signal metadata (" + e.what() + ")");
  }
  require(m.k > 0 && m.teacher_vocab > 0 && m.T > 0 && m.num_windows > 0 &&
              m.windows_per_shard > 0 && m.k <= m.teacher_vocab,
          what + ": signal metadata has impossible values");
  return m;
}

void save_windows(const std::string& path, const Batch& w) {
  std::vector<int64_t> shape = {w.B, w.T};
  write_safetensors(path, {{"tokens", DType::kI32, shape, w.tokens.data()},
                           {"positions", DType::kI32, shape, w.positions.data()},
                           {"targets", DType::kI32, shape, w.targets.data()}});
}

Batch load_windows(const std::string& path) {
  SafetensorsFile f(path);
  const auto& t = f.at("tokens");
  require(t.dtype == DType::kI32 && t.shape.size() == 2 && t.shape[0] > 0 && t.shape[1] > 0,
          path + ": 'tokens' must be a non-empty [windows, T] int32 tensor");
  Batch w;
  w.resize(int(t.shape[0]), int(t.shape[1]));
  for (auto* name : {"tokens", "positions", "targets"}) {
    const auto& e = f.at(name);
    require(e.dtype == DType::kI32 && e.shape == t.shape,
            path + ": '" + name + "' must be int32 of the same shape as 'tokens'");
    auto& dst = std::strcmp(name, "tokens") == 0      ? w.tokens
                : std::strcmp(name, "positions") == 0 ? w.positions
                                                      : w.targets;
    std::memcpy(dst.data(), f.data(e), dst.size() * sizeof(int32_t));
  }
  return w;
}

SignalDir::SignalDir(const std::string& dir) : dir_(dir) {
  require(dir_exists(dir), "signal directory " + dir + " does not exist (run `still teach` first)");
  std::string mpath = path_join(dir, Manifest::kFileName);
  require(file_exists(mpath), dir +
                                  " has no manifest.json: the teach run did not finish; rerun "
                                  "the same `still teach` command to complete it");
  Manifest m = Manifest::load(dir);
  m.verify(dir);
  std::string meta_path = path_join(dir, "signal.json");
  auto j = nlohmann::json::parse(read_file(meta_path), nullptr, false);
  require(!j.is_discarded(), meta_path + " is not valid JSON");
  meta_ = SignalMeta::from_json(j, meta_path);
  windows_ = load_windows(path_join(dir, "windows.safetensors"));
  require(windows_.B == meta_.num_windows && windows_.T == meta_.T,
          dir + ": windows.safetensors does not match signal.json");
  for (int64_t s = 0; s < meta_.num_shards(); ++s)
    require(
        file_exists(path_join(dir, meta_.shard_name(s))),
        path_join(dir, meta_.shard_name(s)) + " is missing; rerun `still teach` to recreate it");
}

const SignalShard& SignalDir::shard(int64_t s) {
  auto it = shards_.find(s);
  if (it != shards_.end()) return *it->second;
  auto sh = std::make_unique<SignalShard>(path_join(dir_, meta_.shard_name(s)));
  int64_t rows =
      std::min<int64_t>(meta_.windows_per_shard, meta_.num_windows - s * meta_.windows_per_shard);
  require(sh->info().k == meta_.k && sh->info().vocab == meta_.teacher_vocab &&
              sh->info().positions == rows * meta_.T,
          path_join(dir_, meta_.shard_name(s)) + " does not match signal.json");
  return *shards_.emplace(s, std::move(sh)).first->second;
}

void SignalDir::fill(const std::vector<int64_t>& window_ids, Batch& batch,
                     TeacherBuffers& teacher) {
  const int T = meta_.T, k = meta_.k;
  batch.resize(int(window_ids.size()), T);
  teacher.ids.resize(size_t(batch.B) * T * k);
  teacher.logp.resize(teacher.ids.size());
  teacher.log_tail.resize(size_t(batch.B) * T);
  for (int r = 0; r < batch.B; ++r) {
    int64_t w = window_ids[size_t(r)];
    require(w >= 0 && w < meta_.num_windows, "window " + std::to_string(w) + " out of range");
    size_t src = size_t(w) * T, dst = size_t(r) * T;
    std::memcpy(&batch.tokens[dst], &windows_.tokens[src], sizeof(int32_t) * T);
    std::memcpy(&batch.positions[dst], &windows_.positions[src], sizeof(int32_t) * T);
    std::memcpy(&batch.targets[dst], &windows_.targets[src], sizeof(int32_t) * T);
    int64_t s = w / meta_.windows_per_shard;
    int64_t local = w - s * meta_.windows_per_shard;
    shard(s).read(local * T, T, &teacher.ids[dst * k], &teacher.logp[dst * k],
                  &teacher.log_tail[dst]);
  }
}

}  // namespace still
