#include "still/teach/teach.h"

#include <omp.h>

#include <algorithm>
#include <filesystem>

#include "still/data/corpus.h"
#include "still/data/manifest.h"
#include "still/data/packing.h"
#include "still/io/atomic_file.h"
#include "still/data/corpus.h"
#include "still/data/manifest.h"
#include "still/data/packing.h"
#include "still/modelio/checkpoint.h"
#include "still/modelio/open_model.h"
#include "still/teach/topk_collector.h"
#include "still/util/error.h"
#include "still/util/log.h"
#include "still/util/sha256.h"

namespace still {
namespace {

// All documents of the corpus, in order, packed into windows of T tokens.
Batch make_windows(const std::string& path, const Tokenizer& tok, int T, int64_t max_windows) {
  std::string content = read_file(path);
  bool jsonl = path.size() >= 6 && path.substr(path.size() - 6) == ".jsonl";
  auto docs = train::split_documents(content, jsonl, path);
  require(!docs.empty(), path + " holds no text: give a corpus with at least one document");
  train::TokenDocs all;
  for (auto& d : docs) {
    std::vector<int32_t> ids;
    if (tok.bos_id() >= 0) ids.push_back(tok.bos_id());
    auto body = tok.encode(d);
    ids.insert(ids.end(), body.begin(), body.end());
    if (tok.eos_id() >= 0) ids.push_back(tok.eos_id());
    all.add(ids);
  }
  int max_batches = max_windows > 0 ? int(max_windows) : (1 << 30);
  auto rows = train::make_heldout_batches(all, 1, T, max_batches);
  Batch w;
  w.resize(int(rows.size()), T);
  for (size_t r = 0; r < rows.size(); ++r) {
    std::copy(rows[r].tokens.begin(), rows[r].tokens.end(), w.tokens.begin() + long(r) * T);
    std::copy(rows[r].positions.begin(), rows[r].positions.end(),
              w.positions.begin() + long(r) * T);
    std::copy(rows[r].targets.begin(), rows[r].targets.end(), w.targets.begin() + long(r) * T);
  }
  return w;
}

// Whether the shard at `path` is intact and holds what this run would write; its header goes
// to *info.
bool shard_is_good(const std::string& path, const SignalMeta& meta, int64_t rows,
                   SignalShardInfo* info) {
  if (!file_exists(path)) return false;
  try {
    SignalShard s(path);
    *info = s.info();
    return s.info().k == meta.k && s.info().vocab == meta.teacher_vocab &&
           s.info().positions == rows * meta.T && s.info().quant.logp_step == meta.quant.logp_step;
  } catch (const Error& e) {
    log_warn(std::string(e.what()) + " — recreating it");
    return false;
  }
}

// The files of the teacher's tokenizer, copied into the signal so that `still distil`
// needs neither the teacher nor the directory `teach` ran in. Empty for the byte tokenizer
// and for one only a whole-model GGUF holds (the signal then names the teacher).
std::vector<std::string> signal_tokenizer_files(const TeachOptions& opt,
                                                const TeacherHandle& teacher) {
  if (teacher.tokenizer->kind() == "bytes") return {};
  const std::string source =
      !opt.tokenizer.empty() ? opt.tokenizer : model_tokenizer_spec(teacher.path);
  if (!file_exists(source) && !dir_exists(source)) return {};  // e.g. a kind, not a file
  return train::tokenizer_source_files(source);
}

}  // namespace

TeachResult run_teach(const TeachOptions& opt, const TeacherHandle& teacher) {
  const double t0 = wall_seconds_now(), cpu0 = process_cpu_seconds();
  LlamaModel& model = *teacher.model;
  const LlamaConfig& cfg = model.config();
  require(opt.k > 0 && opt.k <= cfg.vocab_size,
          "--top-k must be between 1 and the teacher's vocabulary (" +
              std::to_string(cfg.vocab_size) + ")");
  require(opt.batch > 0 && opt.windows_per_shard > 0, "--batch and shard size must be positive");
  require(opt.logp_step > 0 && opt.logp_step <= 1, "--quant-step must be in (0, 1] nats");
  const int T = opt.window > 0 ? opt.window : cfg.max_seq;
  require(T <= cfg.max_seq, "--window " + std::to_string(T) + " exceeds the teacher's context (" +
                                std::to_string(cfg.max_seq) + ")");
  require(teacher.tokenizer->vocab_size() <= cfg.vocab_size,
          "the teacher's tokenizer has more tokens than its embedding rows");

  SignalMeta meta;
  meta.k = opt.k;
  meta.teacher_vocab = cfg.vocab_size;
  meta.T = T;
  meta.windows_per_shard = opt.windows_per_shard;
  meta.quant.logp_step = opt.logp_step;
  meta.tokenizer_kind = teacher.tokenizer->kind();
  meta.tokenizer_fingerprint = teacher.tokenizer->fingerprint();
  meta.teacher = teacher.path;
  meta.teacher_sha256 = teacher.sha256;
  meta.data_sha256 = sha256_file(opt.data);
  meta.bos_policy = teacher.tokenizer->bos_id() >= 0 ? "bos+eos per document" : "none";
  const std::vector<std::string> tokenizer_files = signal_tokenizer_files(opt, teacher);
  if (!tokenizer_files.empty()) {
    meta.tokenizer_file = "tokenizer";
    meta.tokenizer_sha256 = sha256_file(tokenizer_files[0]);
  }

  Batch windows = make_windows(opt.data, *teacher.tokenizer, T, opt.max_windows);
  meta.num_windows = windows.B;

  // An existing directory must hold the same signal (same command); then resume.
  make_dirs(opt.out);
  // Files a killed run was writing when it died: never part of the output.
  remove_stale_temp_files(opt.out);
  std::string meta_path = path_join(opt.out, "signal.json");
  std::string meta_text = meta.to_json().dump(2) + "\n";
  if (file_exists(meta_path)) {
    require(read_file(meta_path) == meta_text,
            opt.out +
                " holds a different signal (other teacher, data or settings): choose "
                "another --out or delete it");
  }
  std::string windows_path = path_join(opt.out, "windows.safetensors");
  bool windows_ok = false;
  if (file_exists(windows_path)) {
    try {
      Batch old = load_windows(windows_path);
      windows_ok = old.tokens == windows.tokens && old.positions == windows.positions &&
                   old.targets == windows.targets;
    } catch (const Error&) {
    }
  }
  if (!windows_ok) save_windows(windows_path, windows);
  write_file_atomic(meta_path, meta_text);

  TeachResult res;
  res.windows = windows.B;
  res.tokens = int64_t(windows.B) * T;
  const int64_t n_shards = meta.num_shards();
  Progress bar("teach", res.tokens, "tok");
  int64_t done_tokens = 0;
  // The teacher's own cross-entropy: summed per shard (stored in each shard, so shards kept
  // from an earlier run count too), then over shards in order — the same total however often
  // the run was interrupted.
  double nats = 0;
  int64_t scored = 0;
  auto status = [&](double n, int64_t c) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "teacher %.3f nats/tok", c ? n / double(c) : 0.0);
    return std::string(buf);
  };
  std::vector<int32_t> ids;
  std::vector<float> logp, log_tail;
  Batch b;
  for (int64_t s = 0; s < n_shards; ++s) {
    int64_t w0 = s * opt.windows_per_shard;
    int64_t rows = std::min<int64_t>(opt.windows_per_shard, windows.B - w0);
    std::string shard_path = path_join(opt.out, meta.shard_name(s));
    if (SignalShardInfo kept; shard_is_good(shard_path, meta, rows, &kept)) {
      ++res.shards_kept;
      nats += kept.teacher_nats;
      scored += kept.teacher_targets;
      done_tokens += rows * T;
      bar.restart_clock(done_tokens);
      continue;
    }
    ids.assign(size_t(rows) * T * opt.k, 0);
    logp.assign(ids.size(), 0.0f);
    log_tail.assign(size_t(rows) * T, 0.0f);
    LossStats shard_stats;
    for (int64_t r0 = 0; r0 < rows; r0 += opt.batch) {
      int nb = int(std::min<int64_t>(opt.batch, rows - r0));
      b.resize(nb, T);
      size_t src = size_t(w0 + r0) * T;
      std::copy_n(windows.tokens.begin() + long(src), size_t(nb) * T, b.tokens.begin());
      std::copy_n(windows.positions.begin() + long(src), size_t(nb) * T, b.positions.begin());
      std::copy_n(windows.targets.begin() + long(src), size_t(nb) * T, b.targets.begin());
      size_t dst = size_t(r0) * T;
      TopKCollector collect(b, opt.k, &ids[dst * opt.k], &logp[dst * opt.k], &log_tail[dst]);
      shard_stats += model.forward_loss(b, collect);
      done_tokens += int64_t(nb) * T;
      bar.update(done_tokens, status(nats + shard_stats.loss_sum, scored + shard_stats.count));
    }
    SignalShardInfo info;
    info.k = opt.k;
    info.vocab = cfg.vocab_size;
    info.positions = rows * T;
    info.quant = meta.quant;
    info.teacher_nats = shard_stats.loss_sum;
    info.teacher_targets = shard_stats.count;
    write_signal_shard(shard_path, info, ids.data(), logp.data(), log_tail.data());
    nats += shard_stats.loss_sum;
    scored += shard_stats.count;
    ++res.shards_written;
  }
  bar.finish();

  Manifest m;
  m.kind = "signal";
  m.command = command_line();
  m.add_input("teacher", teacher.resolved.empty() ? teacher.path : teacher.resolved);
  m.add_input("data", opt.data);
  m.add_file(opt.out, "signal.json");
  m.add_file(opt.out, "windows.safetensors");
  if (!tokenizer_files.empty()) train::copy_tokenizer_files(tokenizer_files, opt.out, m);
  for (int64_t s = 0; s < n_shards; ++s) {
    m.add_file(opt.out, meta.shard_name(s));
    res.signal_bytes += std::filesystem::file_size(path_join(opt.out, meta.shard_name(s)));
  }
  res.seconds = wall_seconds_now() - t0;
  res.teacher_nats_per_token = scored ? nats / double(scored) : 0.0;
  res.bytes_per_entry = double(res.signal_bytes) / double(res.tokens) / double(opt.k);
  m.compute.wall_seconds = res.seconds;
  m.compute.cpu_seconds = process_cpu_seconds() - cpu0;
  m.compute.tokens = res.tokens;
  m.compute.threads = omp_get_max_threads();
  // Forward only: 2 FLOPs per matmul parameter per token (the shards kept cost nothing now).
  m.compute.flops = 2.0 * double(cfg.num_matmul_params()) * double(res.tokens);
  m.extra = {{"k", opt.k},
             {"windows", res.windows},
             {"bytes_per_entry", res.bytes_per_entry},
             {"teacher_nats_per_token", res.teacher_nats_per_token}};
  // A rerun that found every shard done keeps the first run's manifest (and its account of
  // the compute spent) when the files are the same.
  bool same_files = false;
  if (res.shards_written == 0 && file_exists(path_join(opt.out, Manifest::kFileName))) {
    try {
      same_files = Manifest::load(opt.out).to_json()["files"] == m.to_json()["files"];
    } catch (const Error&) {
    }
  }
  if (!same_files) m.write(opt.out);
  return res;
}

}  // namespace still
