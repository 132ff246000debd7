#include "still/eval/logit_probes.h"

#include <cmath>
#include <limits>

#include "still/util/log_softmax.h"
#include "still/util/error.h"

namespace still::eval {


TargetLogprobs::TargetLogprobs(const Batch& batch)
    : batch_(batch), logprob_(batch.targets.size(), std::numeric_limits<double>::quiet_NaN()) {}

LossStats TargetLogprobs::process(int64_t row0, int n, int V, float* logits, bool, float) {
  LossStats st;
  for (int i = 0; i < n; ++i) {
    int64_t r = row0 + i;
    int32_t t = batch_.targets[size_t(r)];
    if (t < 0) continue;
    require(t < V, "target token " + std::to_string(t) + " is outside the model's vocabulary of " +
                       std::to_string(V));
    const float* row = logits + size_t(i) * V;
    double lp = double(row[t]) - log_sum_exp(row, V);
    logprob_[size_t(r)] = lp;
    st.loss_sum -= lp;
    st.count += 1;
  }
  return st;
}

TeacherRows::TeacherRows(const Batch& batch) : batch_(batch), slot_(batch.targets.size(), -1) {
  int64_t k = 0;
  for (size_t r = 0; r < slot_.size(); ++r)
    if (batch.targets[r] >= 0) slot_[r] = k++;
}

LossStats TeacherRows::process(int64_t row0, int n, int V, float* logits, bool, float) {
  if (rows_.empty()) {
    V_ = V;
    int64_t scored = 0;
    for (auto s : slot_) scored += s >= 0;
    rows_.assign(size_t(scored) * V, 0.f);
  }
  LossStats st;
  for (int i = 0; i < n; ++i) {
    int64_t r = row0 + i, s = slot_[size_t(r)];
    if (s < 0) continue;
    const float* row = logits + size_t(i) * V;
    float* out = rows_.data() + size_t(s) * V;
    log_softmax(row, V, out);
    int32_t t = batch_.targets[size_t(r)];
    if (t < V) st.loss_sum -= out[t];
    st.count += 1;
  }
  return st;
}

const float* TeacherRows::row(int64_t r) const {
  int64_t s = slot_[size_t(r)];
  return s < 0 || rows_.empty() ? nullptr : rows_.data() + size_t(s) * V_;
}

void Calibration::add(double confidence, bool is_correct) {
  int b = std::min(kBins - 1, std::max(0, int(confidence * kBins)));
  conf_sum[b] += confidence;
  correct[b] += is_correct ? 1.0 : 0.0;
  count[b] += 1;
}

int64_t Calibration::total() const {
  int64_t n = 0;
  for (auto c : count) n += c;
  return n;
}

double Calibration::ece() const {
  int64_t n = total();
  if (n == 0) return 0;
  double e = 0;
  for (int b = 0; b < kBins; ++b)
    if (count[b]) e += std::fabs(correct[b] - conf_sum[b]) / double(n);
  return e;
}

StudentProbe::StudentProbe(const Batch& batch, const TeacherRows* teacher, Calibration& calib,
                           Agreement& agree)
    : batch_(batch), teacher_(teacher), calib_(calib), agree_(agree) {}

LossStats StudentProbe::process(int64_t row0, int n, int V, float* logits, bool, float) {
  LossStats st;
  for (int i = 0; i < n; ++i) {
    int64_t r = row0 + i;
    int32_t t = batch_.targets[size_t(r)];
    if (t < 0) continue;
    require(t < V, "target token " + std::to_string(t) + " is outside the model's vocabulary of " +
                       std::to_string(V));
    const float* row = logits + size_t(i) * V;
    double lse = log_sum_exp(row, V);
    int top = 0;
    for (int v = 1; v < V; ++v)
      if (row[v] > row[top]) top = v;
    st.loss_sum -= double(row[t]) - lse;
    st.count += 1;
    calib_.add(std::exp(double(row[top]) - lse), top == t);
    if (!teacher_) continue;
    const float* tl = teacher_->row(r);
    require(tl && teacher_->vocab() == V,
            "the teacher's vocabulary (" + std::to_string(teacher_->vocab()) +
                ") differs from the student's (" + std::to_string(V) + ")");
    int ttop = 0;
    double kl = 0;
    for (int v = 0; v < V; ++v) {
      if (tl[v] > tl[ttop]) ttop = v;
      double lp = double(tl[v]);
      double p = std::exp(lp);
      if (p > 0) kl += p * (lp - (double(row[v]) - lse));
    }
    agree_.positions += 1;
    agree_.top1_matches += ttop == top;
    agree_.kl_sum += kl;
  }
  return st;
}

}  // namespace still::eval
