#include <cmath>

#include "still/data/signal_dir.h"
#include "still/io/atomic_file.h"
#include "still/train/signal_stream.h"
#include "still/train/train_source.h"
#include "still/train/trainer.h"
#include "still/util/error.h"
#include "still/util/sha256.h"

namespace still::train {
namespace {

void add_metrics(const KdMetrics& m, const std::string& prefix, nlohmann::json& rec) {
  if (m.rows == 0) return;
  rec[prefix + "kl"] = m.mean_kl();
  rec[prefix + "agreement"] = m.agreement();
  rec[prefix + "tail_mass"] = m.mean_tail_mass();
}

class SignalSource : public TrainSource {
 public:
  SignalSource(const TrainOptions& opt, const Tokenizer& tok, int student_vocab, int B)
      : opt_(opt),
        signal_(opt.signal),
        stream_(signal_, opt.seed, opt.heldout_fraction),
        kd_(KdOptions::parse(opt.loss, float(opt.alpha), float(opt.temperature))) {
    const SignalMeta& meta = signal_.meta();
    require(tok.fingerprint() == meta.tokenizer_fingerprint,
            "the student's tokenizer (" + tok.kind() + ") is not the one the teacher signal " +
                opt.signal + " was made with (" + meta.tokenizer_kind +
                "): distillation needs the same tokenizer (pass the teacher's with --tokenizer)");
    require(student_vocab >= tok.vocab_size(),
            "the student's vocab_size " + std::to_string(student_vocab) +
                " is smaller than the tokenizer's " + std::to_string(tok.vocab_size()));
    // Identity: the signal's content (its files' hashes), not its manifest's bytes, which
    // also record how long the teach run took.
    signal_sha_ = sha256_hex(Manifest::load(opt.signal).to_json()["files"].dump());
    plain_ce_ = kd_.alpha == 0;
    stream_.heldout_batches(B, opt.eval_batches, heldout_, heldout_teacher_);
  }

  nlohmann::json identity() const override {
    return {{"signal_sha256", signal_sha_}, {"loss", kd_.describe()}};
  }

  std::string describe() const override {
    const auto& m = signal_.meta();
    return std::to_string(stream_.num_train()) + " train / " +
           std::to_string(stream_.num_heldout()) + " held-out windows of " + std::to_string(m.T) +
           " tokens from teacher signal " + opt_.signal + " (k=" + std::to_string(m.k) +
           "), loss " + kd_.describe();
  }

  int window() const override { return signal_.meta().T; }

  void fill(int64_t step, int micro, int accum, int B, int, Batch& batch) override {
    if (teacher_.size() < size_t(accum)) teacher_.resize(size_t(accum));
    stream_.fill_step(step, micro, accum, B, batch, teacher_[size_t(micro)]);
  }

  LossStats forward_backward(LlamaModel& model, int micro, const Batch& batch,
                             float grad_scale) override {
    if (plain_ce_) return model.forward_backward(batch, grad_scale);
    const auto& m = signal_.meta();
    KdLoss loss(batch, teacher_[size_t(micro)].view(m.k, m.teacher_vocab), kd_);
    LossStats s = model.forward_backward(batch, loss, grad_scale);
    const KdMetrics& km = loss.metrics();
    step_.kl_sum += km.kl_sum;
    step_.agree += km.agree;
    step_.tail_mass_sum += km.tail_mass_sum;
    step_.rows += km.rows;
    return s;
  }

  void step_metrics(nlohmann::json& rec) override {
    add_metrics(step_, "", rec);
    step_ = {};
  }

  double evaluate(LlamaModel& model, nlohmann::json& rec, double& flops) override {
    // Held-out: the student's own cross-entropy (nats/token, comparable across KD and the
    // CE baseline) plus its agreement with the teacher, in one pass.
    const auto& m = signal_.meta();
    KdOptions ce_only = KdOptions::parse("ce", 0, 1);
    LossStats s;
    KdMetrics total;
    for (size_t i = 0; i < heldout_.size(); ++i) {
      KdLoss loss(heldout_[i], heldout_teacher_[i].view(m.k, m.teacher_vocab), ce_only);
      s += model.forward_loss(heldout_[i], loss);
      const KdMetrics& km = loss.metrics();
      total.kl_sum += km.kl_sum;
      total.agree += km.agree;
      total.tail_mass_sum += km.tail_mass_sum;
      total.rows += km.rows;
      flops += batch_flops(model.config(), heldout_[i], false);
    }
    add_metrics(total, "heldout_", rec);
    return s.mean();
  }

  nlohmann::json data_state(int64_t rows, int) const override {
    return {{"seed", opt_.seed},
            {"rows_consumed", rows},
            {"epoch", double(rows) / double(stream_.num_train())},
            {"train_windows", stream_.num_train()},
            {"heldout_windows", stream_.num_heldout()}};
  }

  void add_inputs(Manifest& m) const override { m.add_input("signal", opt_.signal); }

 private:
  const TrainOptions& opt_;
  SignalDir signal_;
  SignalStream stream_;
  KdOptions kd_;
  bool plain_ce_ = false;
  std::string signal_sha_;
  std::vector<TeacherBuffers> teacher_;  // one per micro-batch slot
  std::vector<Batch> heldout_;
  std::vector<TeacherBuffers> heldout_teacher_;
  KdMetrics step_;
};

}  // namespace

std::unique_ptr<TrainSource> make_signal_source(const TrainOptions& opt, const Tokenizer& tok,
                                                int student_vocab, int B) {
  return std::make_unique<SignalSource>(opt, tok, student_vocab, B);
}

}  // namespace still::train
