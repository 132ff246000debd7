// Knowledge-distillation losses on a stored top-k teacher signal.
//
// The teacher's distribution at a position is stored as its top-k token ids, their
// log-probabilities (T = 1) and log p_tail, the log of the mass outside the top-k. Losses are
// computed on the support K ∪ {tail}: the student's tail is the log-sum-exp of its logits
// outside K (never 1 − Σq, which cancels to garbage for a confident student).
//
// Temperature τ: the student is softened exactly (softmax(z/τ)). A stored T = 1 signal
// cannot be re-tempered exactly, because the tail's shape is unknown; we assume the tail mass
// is spread evenly over the V − k tail tokens, so the tempered tail bucket is
// (V − k)·(p_tail / (V − k))^(1/τ) before renormalisation. Top-k entries are tempered
// exactly (p_i^(1/τ)). The KD term is multiplied by τ² so gradient magnitudes stay comparable
// across temperatures (Hinton et al. 2015).
//
// Per scored position: loss = α·τ²·D(P_τ, Q_τ) + (1 − α)·CE(z, target), D one of
//   fkl:  KL(P‖Q)      rkl: KL(Q‖P)
//   jsd:  β·KL(P‖M) + (1 − β)·KL(Q‖M), M = β·P + (1 − β)·Q
// and α = 0 is plain cross-entropy. Gradient: with Q_b the bucket of token j and
// g_a = ∂D/∂Q_a, ∂D/∂s_j = q_j·(g_b(j) − Σ_a Q_a g_a), s = z/τ.
#pragma once
#include <cstdint>
#include <string>

#include "still/data/teacher_rows.h"
#include "still/model/logit_loss.h"

namespace still {

enum class KdDivergence { kForwardKL, kReverseKL, kJSD };

struct KdOptions {
  KdDivergence divergence = KdDivergence::kForwardKL;
  float beta = 0.5f;   // JSD mixing weight
  float alpha = 1.0f;  // weight of the KD term; 1 − alpha goes to hard-label CE
  float temperature = 1.0f;

  // Parses "fkl", "rkl", "jsd:0.5", "ce" (alpha = 0). Throws still::Error on anything else.
  static KdOptions parse(const std::string& loss, float alpha, float temperature);
  std::string describe() const;
};

// What one row contributes: the loss and the distillation metrics (at τ = 1).
struct KdRowResult {
  double loss = 0;  // α·τ²·D + (1 − α)·CE
  double kl = 0;    // KL(P‖Q) on the support, τ = 1
  bool top1_agree = false;
  double log_tail_q = 0;  // log of the student's tail mass, τ = 1
};

// Loss, metrics and (if dz != nullptr) grad_scale·∂loss/∂z for one row of V student logits.
// `target` < 0 means no hard label (CE term skipped). z and dz may alias.
KdRowResult kd_row(const float* z, int V, const int32_t* ids, const float* logp, float log_tail,
                   int k, int teacher_vocab, int target, const KdOptions& opt, float* dz,
                   float grad_scale);

struct KdMetrics {
  double kl_sum = 0;
  int64_t agree = 0;
  double tail_mass_sum = 0;
  int64_t rows = 0;
  double mean_kl() const { return rows ? kl_sum / double(rows) : 0; }
  double agreement() const { return rows ? double(agree) / double(rows) : 0; }
  double mean_tail_mass() const { return rows ? tail_mass_sum / double(rows) : 0; }
};

// The KD loss as a LogitLoss, for the engine's fused, chunked LM head. Only rows whose target
// is scored (batch.targets ≥ 0) count; rows without teacher signal fall back to CE.
class KdLoss : public LogitLoss {
 public:
  KdLoss(const Batch& batch, TeacherRows teacher, KdOptions opt)
      : batch_(batch), teacher_(teacher), opt_(opt) {}
  LossStats process(int64_t row0, int n, int V, float* logits, bool want_grad,
                    float grad_scale) override;
  const KdMetrics& metrics() const { return metrics_; }
  void reset_metrics() { metrics_ = {}; }

 private:
  const Batch& batch_;
  TeacherRows teacher_;
  KdOptions opt_;
  KdMetrics metrics_;
};

}  // namespace still
