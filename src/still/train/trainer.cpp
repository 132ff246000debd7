#include "still/train/trainer.h"

#include <fcntl.h>
#include <omp.h>
#include <oneapi/dnnl/dnnl.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstring>
#include <filesystem>

#include "still/data/manifest.h"
#include "still/formats/tokenizer/tokenizer.h"
#include "still/io/atomic_file.h"
#include "still/model/llama.h"
#include "still/modelio/checkpoint.h"
#include "still/modelio/load.h"
#include "still/train/adamw.h"
#include "still/train/metrics_log.h"
#include "still/train/schedule.h"
#include "still/train/train_source.h"
#include "still/util/error.h"
#include "still/util/log.h"
#include "still/util/rng.h"

namespace still::train {
namespace {

double peak_rss_bytes() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return double(ru.ru_maxrss) * 1024.0;
}

nlohmann::json library_versions() {
  const dnnl_version_t* v = dnnl_version();
  return {{"still", STILL_VERSION},
          {"onednn", std::to_string(v->major) + "." + std::to_string(v->minor) + "." +
                         std::to_string(v->patch)},
          {"compiler", std::string(__VERSION__)},
          {"openmp", _OPENMP}};
}

// Holds an exclusive lock on run_dir/.lock for the life of the process: two trainers
// writing one run directory would corrupt each other's checkpoints. The kernel drops the
// lock when the process dies, however it dies.
class RunLock {
 public:
  explicit RunLock(const std::string& run_dir) {
    std::string p = path_join(run_dir, ".lock");
    fd_ = ::open(p.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    require(fd_ >= 0, "cannot create " + p + ": " + std::strerror(errno));
    require(::flock(fd_, LOCK_EX | LOCK_NB) == 0, "another 'still train' is running in " + run_dir +
                                                      "; wait for it or use another --out");
  }
  ~RunLock() { ::close(fd_); }

 private:
  int fd_ = -1;
};

// What decides the numbers a run computes: a resume must match it exactly.
nlohmann::json run_identity(const TrainOptions& o, const LlamaConfig& c, const nlohmann::json& data,
                            const Tokenizer& tok, int T, double min_lr, int64_t warmup) {
  nlohmann::json id = {{"config", c.to_hf_json()},
                       {"tokenizer_fingerprint", tok.fingerprint()},
                       {"steps", o.steps},
                       {"seed", o.seed},
                       {"batch", o.batch},
                       {"seq", T},
                       {"grad_accum", o.grad_accum},
                       {"lr", o.lr},
                       {"min_lr", min_lr},
                       {"warmup", warmup},
                       {"weight_decay", o.weight_decay},
                       {"clip", o.clip},
                       {"heldout_fraction", o.heldout_fraction}};
  if (!o.init.empty()) id["init"] = o.init;
  id["precision"] = precision_name(parse_precision(o.precision));
  id.update(data);
  return id;
}

void check_same_run(const nlohmann::json& saved, const nlohmann::json& now,
                    const std::string& out) {
  for (auto& [key, value] : now.items()) {
    if (saved.contains(key) && saved[key] == value) continue;
    if (key == "config")
      throw Error(out +
                  " was trained with another model configuration than --config gives; "
                  "rerun with the original config or use a new --out");
    if (key == "signal_sha256")
      throw Error(out +
                  " was distilled from another teacher signal than --signal; rerun with "
                  "the original signal or use a new --out");
    if (key == "generated_sha256")
      throw Error(out +
                  " was distilled from other generations than --generated; rerun with "
                  "the original generations or use a new --out");
    if (key == "corpus_sha256")
      throw Error(out +
                  " was trained on another corpus (its SHA-256 differs from --data's); "
                  "rerun with the original corpus or use a new --out");
    if (key == "tokenizer_fingerprint")
      throw Error(out +
                  " was trained with another tokenizer; rerun with the original "
                  "--tokenizer or use a new --out");
    std::string key_flag = key;
    for (auto& ch : key_flag)
      if (ch == '_') ch = '-';
    throw Error("--" + key_flag + " " + value.dump() + " differs from the run's " +
                (saved.contains(key) ? saved[key].dump() : std::string("(unset)")) + " in " + out +
                "; rerun with the original value to resume, or use a new --out");
  }
}

// What a run is, from its options alone: validated, with its model config, tokenizer, data
// source and the identity a resume must match.
struct RunPlan {
  int threads = 0;
  Precision precision{};
  LlamaConfig config;
  std::unique_ptr<Tokenizer> tok;
  std::unique_ptr<TrainSource> source;
  int B = 0, T = 0, accum = 0;
  double min_lr = 0;
  int64_t warmup = 0;
  std::vector<std::string> tokenizer_files;  // copied into every checkpoint: self-contained
  nlohmann::json identity;
};

RunPlan plan_run(const TrainOptions& opt) {
  require(!opt.out.empty(), "--out is required (the run directory)");
  require(opt.steps > 0, "--steps must be positive");
  require(opt.batch > 0 && opt.grad_accum > 0, "--batch and --grad-accum must be positive");
  require(opt.lr > 0 && std::isfinite(opt.lr), "--lr must be positive");
  require(opt.clip >= 0 && opt.weight_decay >= 0, "--clip and --weight-decay must be >= 0");
  require(opt.eval_every >= 0 && opt.save_every >= 0 && opt.eval_batches > 0,
          "--eval-every and --save-every must be >= 0, --eval-batches positive");
  RunPlan p;
  p.threads = opt.threads > 0 ? opt.threads : omp_get_num_procs();
  omp_set_num_threads(p.threads);
  p.precision = parse_precision(opt.precision);
  require_precision_supported(p.precision);

  require(!opt.config.empty() || !opt.init.empty(), "give --config (or a model to start from)");
  p.config = opt.config.empty() ? read_model_config(opt.init) : LlamaConfig::load(opt.config);
  LlamaConfig& config = p.config;
  if (!opt.init.empty() && !opt.config.empty()) {
    LlamaConfig from = read_model_config(opt.init);
    require(from.dim == config.dim && from.n_layers == config.n_layers &&
                from.ffn_dim == config.ffn_dim && from.vocab_size == config.vocab_size &&
                from.n_heads == config.n_heads && from.n_kv_heads == config.n_kv_heads,
            "--config and the initial model " + opt.init +
                " have different shapes; drop --config "
                "to use the model's own");
  }
  p.tok = load_tokenizer(opt.tokenizer);
  const Tokenizer& tok = *p.tok;
  require(config.vocab_size >= tok.vocab_size(),
          "config vocab_size " + std::to_string(config.vocab_size) + " is smaller than the " +
              tok.kind() + " tokenizer's " + std::to_string(tok.vocab_size()) +
              "; use a config with vocab_size >= " + std::to_string(tok.vocab_size()));
  if (config.eos_token_id < 0 && tok.eos_id() >= 0) config.eos_token_id = tok.eos_id();
  if (config.bos_token_id < 0 && tok.bos_id() >= 0) config.bos_token_id = tok.bos_id();
  p.B = opt.batch;
  p.accum = opt.grad_accum;
  // Distillation trains on the teacher's own windows; corpus training packs rows of --seq.
  if (!opt.signal.empty()) p.source = make_signal_source(opt, tok, config.vocab_size, p.B);
  p.T = p.source ? p.source->window() : opt.seq > 0 ? opt.seq : config.max_seq;
  require(p.T >= 2 && p.T <= config.max_seq,
          "--seq must be in [2, " + std::to_string(config.max_seq) + "] (the config's max_seq)");
  p.min_lr = opt.min_lr >= 0 ? opt.min_lr : opt.lr / 10;
  p.warmup = opt.warmup >= 0 ? opt.warmup : opt.steps / 20;

  p.tokenizer_files = tokenizer_source_files(opt.tokenizer);
  if (!p.source) p.source = make_corpus_source(opt, tok, p.T, p.B);
  p.identity = run_identity(opt, config, p.source->identity(), tok, p.T, p.min_lr, p.warmup);
  return p;
}

// A run in progress: its model and optimiser, and what it has spent and measured so far.
struct RunState {
  RunState(const TrainOptions& opt, const RunPlan& plan, double t0, double cpu0)
      : t_start(t0),
        cpu_start(cpu0),
        model(plan.config),
        adam(model.layout(), {0.9f, 0.95f, 1e-8f, float(opt.weight_decay)}) {
    sum.run_dir = opt.out;
    sum.steps = opt.steps;
    sum.threads = plan.threads;
    sum.precision = precision_name(plan.precision);
    model.set_precision(plan.precision);
  }
  double t_start, cpu_start;  // when this session started (wall, process CPU)
  LlamaModel model;
  AdamW adam;
  TrainSummary sum;
  ComputeSpent prior;    // compute spent by earlier sessions of this run
  ComputeSpent session;  // by this one
  double last_heldout = NAN;
};

// Continues from the run's newest checkpoint (which must be the same run), else starts from
// --init's weights or random ones.
void resume_or_init(const TrainOptions& opt, const RunPlan& plan, RunState& st) {
  LlamaModel& model = st.model;
  const ParamLayout& layout = model.layout();
  TrainSummary& sum = st.sum;
  std::string ck_dir = newest_checkpoint(opt.out);
  if (!ck_dir.empty()) {
    CheckpointInfo ck;
    try {
      ck = open_checkpoint(ck_dir, /*verify=*/true);
    } catch (const Error& e) {
      throw Error("cannot resume from " + ck_dir + ": " + e.what() +
                  " -- delete that directory to resume from the previous checkpoint "
                  "(or from scratch if it is the only one)");
    }
    nlohmann::json saved_run = ck.trainer_state.value("run", nlohmann::json::object());
    if (!saved_run.contains("precision")) saved_run["precision"] = "fp32";  // older runs
    check_same_run(saved_run, plan.identity, opt.out);
    load_checkpoint_weights(ck, layout, model.params());
    st.adam.set_step_count(
        load_checkpoint_optimizer(ck, layout, st.adam.m().data(), st.adam.v().data()));
    sum.start_step = ck.step();
    sum.resumed = true;
    int saved_threads = ck.trainer_state.value("threads", 0);
    if (saved_threads != plan.threads)
      log_warn("this run was started with --threads " + std::to_string(saved_threads) +
               " and resumes with " + std::to_string(plan.threads) +
               ": training continues, but the result is no longer bitwise identical to an "
               "uninterrupted run (reductions are partitioned by thread count)");
    auto c = ck.trainer_state.value("compute", nlohmann::json::object());
    st.prior.wall_seconds = c.value("wall_seconds", 0.0);
    st.prior.cpu_seconds = c.value("cpu_seconds", 0.0);
    st.prior.flops = c.value("flops", 0.0);
    st.prior.tokens = c.value("tokens", int64_t(0));
    st.last_heldout = ck.trainer_state.value("heldout_loss", nlohmann::json(nullptr)).is_number()
                          ? ck.trainer_state["heldout_loss"].get<double>()
                          : NAN;
    sum.train_loss = ck.trainer_state.value("train_loss", 0.0);
    sum.heldout_eval = ck.trainer_state.value("heldout_eval", nlohmann::json::object());
    log_info("resuming " + opt.out + " from " + ck_dir + " (step " +
             std::to_string(sum.start_step) + " of " + std::to_string(opt.steps) + ")");
  } else if (!opt.init.empty()) {
    load_params(opt.init, plan.config, model.params());
  } else {
    model.init_random(opt.seed);
  }
  sum.num_params = plan.config.num_params();
  sum.state_bytes = 16.0 * double(layout.total());  // weights, grads, AdamW m and v
}

// Saves checkpoint `step_done` with everything a rerun needs to resume exactly.
void save_run_checkpoint(const TrainOptions& opt, const RunPlan& plan, RunState& st,
                         int64_t step_done) {
  const Tokenizer& tok = *plan.tok;
  const ComputeSpent& prior = st.prior;
  ComputeSpent& session = st.session;
  session.wall_seconds = wall_seconds_now() - st.t_start;
  session.cpu_seconds = process_cpu_seconds() - st.cpu_start;
  CheckpointContents c;
  c.step = step_done;
  c.config = &plan.config;
  c.layout = &st.model.layout();
  c.params = st.model.params();
  c.adam_m = st.adam.m().data();
  c.adam_v = st.adam.v().data();
  c.adam_step = st.adam.step_count();
  Rng next(mix_seed(opt.seed, uint64_t(step_done)));
  auto rng = next.state();
  const int64_t rows = step_done * plan.accum * plan.B;
  c.trainer_state = {
      {"format", "still-trainer-state/1"},
      {"step", step_done},
      {"steps", opt.steps},
      {"run", plan.identity},
      // Nothing in plain training draws random numbers after init; this is the stream the
      // next step would use (seeded from (seed, step)), saved so later losses can.
      {"rng", {{"algorithm", "xoshiro256**"}, {"state", {rng[0], rng[1], rng[2], rng[3]}}}},
      {"data", plan.source->data_state(rows, plan.T)},
      {"threads", plan.threads},
      {"versions", library_versions()},
      {"train_loss", st.sum.train_loss},
      {"heldout_loss", std::isfinite(st.last_heldout) ? nlohmann::json(st.last_heldout) : nullptr},
      {"heldout_eval", st.sum.heldout_eval},
      {"compute",
       {{"wall_seconds", prior.wall_seconds + session.wall_seconds},
        {"cpu_seconds", prior.cpu_seconds + session.cpu_seconds},
        {"flops", prior.flops + session.flops},
        {"tokens", prior.tokens + session.tokens}}}};
  c.tokenizer_info = {
      {"kind", tok.kind()}, {"fingerprint", tok.fingerprint()}, {"vocab_size", tok.vocab_size()}};
  if (tok.kind() != "bytes")
    c.tokenizer_info["source"] = std::filesystem::absolute(opt.tokenizer).string();
  c.tokenizer_files = plan.tokenizer_files;
  c.manifest.command = command_line();
  plan.source->add_inputs(c.manifest);
  if (!opt.init.empty()) c.manifest.add_input("init", opt.init);
  if (tok.kind() != "bytes") c.manifest.add_input("tokenizer", opt.tokenizer);
  c.manifest.compute = {prior.wall_seconds + session.wall_seconds,
                        prior.cpu_seconds + session.cpu_seconds, prior.flops + session.flops,
                        prior.tokens + session.tokens, plan.threads};
  c.manifest.extra = {{"model", plan.config.architecture},
                      {"num_params", st.sum.num_params},
                      {"precision", st.sum.precision}};
  save_checkpoint(opt.out, c);
}

// The optimizer steps from sum.start_step to opt.steps: metrics every step, held-out
// evaluation every eval_every steps, a checkpoint every save_every steps and at the end.
void train_steps(const TrainOptions& opt, const RunPlan& plan, RunState& st) {
  const LlamaConfig& config = plan.config;
  TrainSource& source = *plan.source;
  LlamaModel& model = st.model;
  TrainSummary& sum = st.sum;
  ComputeSpent& session = st.session;
  const int B = plan.B, T = plan.T, accum = plan.accum;
  std::vector<Batch> micro(static_cast<size_t>(accum));
  LrSchedule schedule{opt.lr, plan.min_lr, plan.warmup, opt.steps};
  MetricsLog metrics(path_join(opt.out, "metrics.jsonl"), sum.start_step);
  const double t_loop = wall_seconds_now();
  int64_t session_tokens = 0;

  Progress progress("train", opt.steps, "steps");
  progress.restart_clock(sum.start_step);
  for (int64_t step = sum.start_step; step < opt.steps; ++step) {
    int64_t scored = 0;
    for (int m = 0; m < accum; ++m) {
      source.fill(step, m, accum, B, T, micro[size_t(m)]);
      scored += micro[size_t(m)].num_scored();
    }
    // The loss is the mean over every scored token of the whole step, however it is split
    // into micro-batches.
    const float grad_scale = scored > 0 ? 1.0f / float(scored) : 0.0f;
    model.zero_grads();
    LossStats ls;
    for (int m = 0; m < accum; ++m) {
      ls += source.forward_backward(model, m, micro[size_t(m)], grad_scale);
      session.flops += batch_flops(config, micro[size_t(m)], true);
    }
    const double norm = global_grad_norm(model.grads(), model.num_params_flat());
    if (!std::isfinite(ls.loss_sum) || !std::isfinite(norm))
      throw Error("training diverged at step " + std::to_string(step + 1) +
                  " (loss or gradient is not finite); lower --lr (now " + std::to_string(opt.lr) +
                  ") or keep --clip on, and start a new run");
    // Clipping is folded into the AdamW pass (no extra pass over the gradients).
    const float clip = clip_factor(norm, opt.clip);
    const double lr = schedule.at(step);
    st.adam.step(model.params(), model.grads(), float(lr), clip);

    const int64_t done = step + 1;
    const int64_t step_tokens = int64_t(accum) * B * T;
    session.tokens += step_tokens;
    session_tokens += step_tokens;
    sum.train_loss = ls.mean();
    const double tps = double(session_tokens) / std::max(1e-9, wall_seconds_now() - t_loop);
    nlohmann::json rec = {{"step", done},
                          {"lr", lr},
                          {"loss", ls.mean()},
                          {"grad_norm", norm},
                          {"tokens", st.prior.tokens + session.tokens},
                          {"tokens_per_second", tps}};
    source.step_metrics(rec);
    if ((opt.eval_every > 0 && done % opt.eval_every == 0) || done == opt.steps) {
      st.last_heldout = source.evaluate(model, rec, session.flops);
      rec["heldout_loss"] = st.last_heldout;
      sum.heldout_eval = nlohmann::json::object();
      for (auto& [key, value] : rec.items())
        if (key.rfind("heldout_", 0) == 0) sum.heldout_eval[key] = value;
    }
    metrics.append(rec);
    if (done == sum.start_step + 1)
      log_info("step memory: activations " + format_bytes(double(model.activation_bytes())) +
               ", weights+grads+AdamW " + format_bytes(sum.state_bytes) + ", peak RSS " +
               format_bytes(peak_rss_bytes()));
    char status[160];
    std::string held;
    if (std::isfinite(st.last_heldout))
      held = " | held-out " + std::to_string(st.last_heldout).substr(0, 6);
    std::snprintf(status, sizeof status, "loss %.4f%s | %s tok/s | lr %.2e", ls.mean(),
                  held.c_str(), format_count(tps).c_str(), lr);
    progress.update(done, status);
    if ((opt.save_every > 0 && done % opt.save_every == 0) || done == opt.steps)
      save_run_checkpoint(opt, plan, st, done);
  }
  progress.finish();
  sum.step = opt.steps;
  session.wall_seconds = wall_seconds_now() - st.t_start;
  session.cpu_seconds = process_cpu_seconds() - st.cpu_start;
  sum.tokens_per_second = double(session_tokens) / std::max(1e-9, wall_seconds_now() - t_loop);
}

// The whole run's totals: earlier sessions' compute plus `session`.
void finish_summary(const TrainOptions& opt, RunState& st, const ComputeSpent& session) {
  TrainSummary& sum = st.sum;
  sum.wall_seconds = st.prior.wall_seconds + session.wall_seconds;
  sum.cpu_seconds = st.prior.cpu_seconds + session.cpu_seconds;
  sum.flops = st.prior.flops + session.flops;
  sum.tokens = st.prior.tokens + session.tokens;
  sum.heldout_loss = st.last_heldout;
  sum.activation_bytes = double(st.model.activation_bytes());
  sum.peak_rss_bytes = peak_rss_bytes();
  sum.checkpoint = newest_checkpoint(opt.out);
}

}  // namespace

// Model FLOPs of a forward (+ backward when `train`) pass over a batch: 2 (6) per matmul
// parameter per token, plus attention's scores and weighted sum over each token's context.
double batch_flops(const LlamaConfig& c, const Batch& b, bool train) {
  double ctx = 0;
  for (int32_t p : b.positions) ctx += double(p) + 1;
  double tokens = double(b.tokens.size());
  double fwd = 2.0 * double(c.num_matmul_params()) * tokens + 4.0 * c.n_layers * c.q_dim() * ctx;
  return train ? 3.0 * fwd : fwd;
}

nlohmann::json TrainSummary::to_json() const {
  return {{"run_dir", run_dir},
          {"checkpoint", checkpoint},
          {"start_step", start_step},
          {"step", step},
          {"steps", steps},
          {"resumed", resumed},
          {"already_complete", already_complete},
          {"train_loss", train_loss},
          {"heldout_loss", heldout_loss},
          {"heldout_eval", heldout_eval},
          {"tokens_per_second", tokens_per_second},
          {"tokens", tokens},
          {"flops", flops},
          {"wall_seconds", wall_seconds},
          {"cpu_seconds", cpu_seconds},
          {"num_params", num_params},
          {"activation_bytes", activation_bytes},
          {"state_bytes", state_bytes},
          {"peak_rss_bytes", peak_rss_bytes},
          {"threads", threads},
          {"precision", precision}};
}

TrainSummary run(const TrainOptions& opt) {
  const double t_start = wall_seconds_now(), cpu_start = process_cpu_seconds();
  RunPlan plan = plan_run(opt);
  make_dirs(opt.out);
  RunLock lock(opt.out);
  remove_stale_temps(opt.out);
  RunState st(opt, plan, t_start, cpu_start);
  resume_or_init(opt, plan, st);
  TrainSummary& sum = st.sum;
  if (sum.start_step >= opt.steps) {
    sum.step = sum.start_step;
    sum.already_complete = true;
    finish_summary(opt, st, {});
    log_info("run " + opt.out + " is already complete (step " + std::to_string(sum.step) + ")");
    return sum;
  }

  log_info(std::string(opt.signal.empty() && opt.generated.empty() ? "train: " : "distil: ") +
           format_count(double(sum.num_params)) + " parameters, " + plan.source->describe() + ", " +
           std::to_string(plan.B) + "x" + std::to_string(plan.T) + "x" +
           std::to_string(plan.accum) + " tokens/step, " + std::to_string(plan.threads) +
           " threads, " + sum.precision + "; weights+grads+AdamW " + format_bytes(sum.state_bytes) +
           ", peak RSS so far " + format_bytes(peak_rss_bytes()));
  train_steps(opt, plan, st);
  finish_summary(opt, st, st.session);
  log_info("done: step " + std::to_string(sum.step) + ", loss " + std::to_string(sum.train_loss) +
           ", held-out " + std::to_string(sum.heldout_loss) + " nats/token, " +
           format_count(sum.tokens_per_second) + " tokens/s, peak RSS " +
           format_bytes(sum.peak_rss_bytes) + " (activations " +
           format_bytes(sum.activation_bytes) + "); checkpoint " + sum.checkpoint);
  return sum;
}

}  // namespace still::train
