// LogitLosses that measure instead of train: the log-probability of each target, the
// teacher's distributions, and the student's calibration and agreement with the teacher.
// Each sees logits rows as the engine produces them and never keeps all B·T·V at once
// (except TeacherRows, which keeps only the scored rows of one batch).
#pragma once
#include <cstdint>
#include <vector>

#include "still/data/batch.h"
#include "still/model/logit_loss.h"

namespace still::eval {

// log p(target) of every scored row (NaN for unscored rows).
class TargetLogprobs : public LogitLoss {
 public:
  explicit TargetLogprobs(const Batch& batch);
  LossStats process(int64_t row0, int n, int V, float* logits, bool want_grad,
                    float grad_scale) override;
  const std::vector<double>& logprobs() const { return logprob_; }

 private:
  const Batch& batch_;
  std::vector<double> logprob_;
};

// The teacher's log-softmax rows for the scored rows of a batch.
class TeacherRows : public LogitLoss {
 public:
  explicit TeacherRows(const Batch& batch);
  LossStats process(int64_t row0, int n, int V, float* logits, bool want_grad,
                    float grad_scale) override;
  // Log-probabilities of batch row r ([V]), or nullptr when r is not scored.
  const float* row(int64_t r) const;
  int vocab() const { return V_; }

 private:
  const Batch& batch_;
  std::vector<int64_t> slot_;  // batch row -> index into rows_, -1 when unscored
  std::vector<float> rows_;
  int V_ = 0;
};

// Expected calibration error of top-1 predictions: equal-width confidence bins.
struct Calibration {
  static constexpr int kBins = 15;
  double conf_sum[kBins] = {}, correct[kBins] = {};
  int64_t count[kBins] = {};
  void add(double confidence, bool is_correct);
  double ece() const;
  int64_t total() const;
};

struct Agreement {
  int64_t positions = 0, top1_matches = 0;
  double kl_sum = 0;  // Σ KL(teacher ‖ student), nats
  double top1_match_rate() const { return positions ? double(top1_matches) / positions : 0; }
  double mean_kl() const { return positions ? kl_sum / double(positions) : 0; }
};

// Cross-entropy on batch.targets plus calibration, and agreement with `teacher` when given
// (it must hold the teacher's rows for the same batch and the same vocabulary).
class StudentProbe : public LogitLoss {
 public:
  StudentProbe(const Batch& batch, const TeacherRows* teacher, Calibration& calib,
               Agreement& agree);
  LossStats process(int64_t row0, int n, int V, float* logits, bool want_grad,
                    float grad_scale) override;

 private:
  const Batch& batch_;
  const TeacherRows* teacher_;
  Calibration& calib_;
  Agreement& agree_;
};

}  // namespace still::eval
