#include "still/model/kd_loss.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <vector>

#include "still/kernels/isa.h"
#include "still/util/log_softmax.h"
#include "still/kernels/vexp.h"
#include "still/util/error.h"

#define STILL_SIMD_BODY "still/model/kd_loss_simd.inc"
#include "still/kernels/per_isa.inc"

namespace still {
namespace {

constexpr double kNegInf = -std::numeric_limits<double>::infinity();
// Teacher log-probabilities are floored here so that reverse KL / JSD stay finite where the
// stored teacher says "zero" (a quantised or underflowed entry).
constexpr double kLogFloor = -50.0;


// Log-sum-exps of s = z·inv_tau over the whole row and over the tokens outside K
// (in_topk marks K). The tail is summed on its own, relative to its own max, so it stays
// accurate however confident the student is.
struct RowLse {
  double all = kNegInf, tail = kNegInf;
  int argmax = 0;
  float max_tail = -std::numeric_limits<float>::infinity();
};

// With `untempered` (the same row's τ = 1 result), the maxima pass is skipped: rounding is
// monotone, so max_j fl(z_j/τ) = fl(max_j z_j · 1/τ) exactly.
RowLse row_lse(const float* z, int V, const uint8_t* in_topk, const int32_t* ids, int k,
               float inv_tau, bool want_argmax, const RowLse* untempered = nullptr) {
  RowLse r;
  constexpr float kMinusInf = -std::numeric_limits<float>::infinity();
  float max_all = kMinusInf, max_tail = kMinusInf;
  if (untempered && !want_argmax && inv_tau > 0) {
    max_tail = untempered->max_tail * inv_tau;
  } else {
    // Vectorised passes over the row (this runs on every logit of a KD step): the maxima, then
    // the first index reaching the maximum, then exp of the tail in float (kernels/vexp.h,
    // within a few ulp of expf) summed in double.
    STILL_DISPATCH(kd_row_maxima, z, V, in_topk, inv_tau, &max_all, &max_tail);
  }
  r.max_tail = max_tail;
  // The first index reaching the maximum (only the τ = 1 pass reports it): find the block
  // holding it with a vectorised test, then scan that block.
  if (want_argmax) {
    r.argmax = STILL_DISPATCH(kd_first_max, z, V, inv_tau, max_all);
    if (r.argmax < 0) r.argmax = 0;  // no maximum found (NaN logits): as before
  }
  int tail_tokens = V - k;
  if (tail_tokens > 0 && std::isfinite(max_tail)) {
    const double sum = STILL_DISPATCH(kd_tail_sum, z, V, in_topk, inv_tau, max_tail);
    r.tail = double(max_tail) + std::log(sum);
  }
  double lse_k = kNegInf;
  for (int i = 0; i < k; ++i) lse_k = log_add_exp(lse_k, double(z[ids[i]] * inv_tau));
  r.all = log_add_exp(lse_k, r.tail);
  return r;
}

// The distribution on the support K ∪ {tail}: log-probabilities, index k is the tail bucket
// (kNegInf when there are no tail tokens).
struct Support {
  std::vector<double> logp;  // k + 1
};

// Teacher at temperature τ (see the header for the tail approximation), renormalised.
void teacher_support(const float* logp, float log_tail, int k, int teacher_vocab, double tau,
                     std::vector<double>& out) {
  out.resize(size_t(k) + 1);
  for (int i = 0; i < k; ++i) out[size_t(i)] = double(logp[i]) / tau;
  int tail_tokens = teacher_vocab - k;
  if (tail_tokens > 0 && std::isfinite(log_tail)) {
    double log_n = std::log(double(tail_tokens));
    out[size_t(k)] = log_n + (double(log_tail) - log_n) / tau;
  } else {
    out[size_t(k)] = kNegInf;
  }
  double z = kNegInf;
  for (double v : out) z = log_add_exp(z, v);
  for (double& v : out) v -= z;
}

// Divergence D(P, Q) on the support and, in g, ∂D/∂Q_a − Σ_b Q_b ∂D/∂Q_b.
double divergence(const std::vector<double>& lp, const std::vector<double>& lq,
                  const KdOptions& opt, std::vector<double>& g) {
  size_t n = lp.size();
  g.assign(n, 0.0);
  double d = 0;
  switch (opt.divergence) {
    case KdDivergence::kForwardKL: {
      // D = Σ P log(P/Q); ∂D/∂Q_a = −P_a/Q_a; Σ Q·∂D/∂Q = −1.
      for (size_t a = 0; a < n; ++a) {
        if (lp[a] == kNegInf || lq[a] == kNegInf) continue;
        double p = std::exp(lp[a]);
        d += p * (lp[a] - lq[a]);
        g[a] = 1.0 - std::exp(lp[a] - lq[a]);
      }
      break;
    }
    case KdDivergence::kReverseKL: {
      // D = Σ Q log(Q/P); ∂D/∂Q_a = log(Q_a/P_a) + 1; Σ Q·∂D/∂Q = D + 1.
      for (size_t a = 0; a < n; ++a) {
        if (lq[a] == kNegInf) continue;
        d += std::exp(lq[a]) * (lq[a] - std::max(lp[a], kLogFloor));
      }
      for (size_t a = 0; a < n; ++a)
        if (lq[a] != kNegInf) g[a] = lq[a] - std::max(lp[a], kLogFloor) - d;
      break;
    }
    case KdDivergence::kJSD: {
      // M = βP + (1−β)Q; D = β KL(P‖M) + (1−β) KL(Q‖M); ∂D/∂Q_a = (1−β) log(Q_a/M_a).
      double beta = opt.beta, gbar = 0;
      for (size_t a = 0; a < n; ++a) {
        double p = lp[a] == kNegInf ? 0 : std::exp(lp[a]);
        double q = lq[a] == kNegInf ? 0 : std::exp(lq[a]);
        double m = beta * p + (1 - beta) * q;
        if (m <= 0) continue;
        double lm = std::log(m);
        if (p > 0) d += beta * p * (lp[a] - lm);
        if (q > 0) {
          d += (1 - beta) * q * (lq[a] - lm);
          g[a] = (1 - beta) * (lq[a] - lm);
          gbar += q * g[a];
        }
      }
      for (size_t a = 0; a < n; ++a)
        if (lq[a] != kNegInf) g[a] -= gbar;
      break;
    }
  }
  return d;
}

struct RowScratch {
  std::vector<uint8_t> in_topk;
  std::vector<double> lp, lq, lp1, lq1, g, g1;
  std::vector<float> z_topk;
};

RowScratch& scratch(int V) {
  thread_local RowScratch s;
  if (s.in_topk.size() < size_t(V)) s.in_topk.assign(size_t(V), 0);
  return s;
}

}  // namespace

KdOptions KdOptions::parse(const std::string& loss, float alpha, float temperature) {
  KdOptions o;
  o.alpha = alpha;
  o.temperature = temperature;
  if (loss == "fkl") {
    o.divergence = KdDivergence::kForwardKL;
  } else if (loss == "rkl") {
    o.divergence = KdDivergence::kReverseKL;
  } else if (loss.rfind("jsd", 0) == 0) {
    o.divergence = KdDivergence::kJSD;
    if (loss.size() > 3) {
      require(loss[3] == ':', "--loss " + loss + ": write jsd:BETA, e.g. jsd:0.5");
      char* end = nullptr;
      o.beta = std::strtof(loss.c_str() + 4, &end);
      require(end && *end == 0 && o.beta > 0 && o.beta < 1,
              "--loss " + loss + ": BETA must be a number strictly between 0 and 1");
    }
  } else if (loss == "ce") {
    o.alpha = 0;
  } else {
    throw Error("unknown --loss '" + loss + "' (use fkl, rkl, jsd:BETA or ce)");
  }
  require(o.alpha >= 0 && o.alpha <= 1, "--alpha must be in [0, 1]");
  require(o.temperature > 0 && std::isfinite(o.temperature), "--temperature must be positive");
  return o;
}

std::string KdOptions::describe() const {
  std::string d = divergence == KdDivergence::kForwardKL   ? "fkl"
                  : divergence == KdDivergence::kReverseKL ? "rkl"
                                                           : "jsd:" + std::to_string(beta);
  if (alpha == 0) d = "ce";
  return d + " alpha=" + std::to_string(alpha) + " T=" + std::to_string(temperature);
}

KdRowResult kd_row(const float* z, int V, const int32_t* ids, const float* logp, float log_tail,
                   int k, int teacher_vocab, int target, const KdOptions& opt, float* dz,
                   float grad_scale) {
  RowScratch& s = scratch(V);
  for (int i = 0; i < k; ++i) s.in_topk[size_t(ids[i])] = 1;
  const double tau = opt.temperature;
  const bool tempered = tau != 1.0;

  RowLse l1 = row_lse(z, V, s.in_topk.data(), ids, k, 1.0f, true);
  RowLse lt = tempered ? row_lse(z, V, s.in_topk.data(), ids, k, float(1.0 / tau), false, &l1) : l1;

  auto student_support = [&](const RowLse& l, double inv_tau, std::vector<double>& out) {
    out.resize(size_t(k) + 1);
    for (int i = 0; i < k; ++i) out[size_t(i)] = double(z[ids[i]]) * inv_tau - l.all;
    out[size_t(k)] = l.tail == kNegInf ? kNegInf : l.tail - l.all;
  };

  KdRowResult r;
  // Metrics at τ = 1.
  teacher_support(logp, log_tail, k, teacher_vocab, 1.0, s.lp1);
  student_support(l1, 1.0, s.lq1);
  KdOptions fkl;
  r.kl = divergence(s.lp1, s.lq1, fkl, s.g1);
  r.top1_agree = k > 0 && l1.argmax == ids[0];
  r.log_tail_q = s.lq1[size_t(k)];

  double d = 0;
  if (opt.alpha > 0) {
    if (tempered) {
      teacher_support(logp, log_tail, k, teacher_vocab, tau, s.lp);
      student_support(lt, 1.0 / tau, s.lq);
      d = divergence(s.lp, s.lq, opt, s.g);
    } else {
      d = opt.divergence == KdDivergence::kForwardKL ? r.kl : divergence(s.lp1, s.lq1, opt, s.g);
      if (opt.divergence == KdDivergence::kForwardKL) s.g = s.g1;
      s.lq = s.lq1;
    }
  }
  double ce = 0;
  float z_target = target >= 0 ? z[target] : 0.0f;
  if (target >= 0) ce = -(double(z_target) - l1.all);
  r.loss = opt.alpha * tau * tau * d + (1.0 - opt.alpha) * ce;

  if (dz) {
    // ∂loss/∂z_j = α·τ·q_τ,j·g_b(j) + (1 − α)·(q_1,j − [j = target]); g already has ḡ removed.
    const double kd_scale = opt.alpha * tau;  // α·τ²·(1/τ)
    const double ce_scale = target >= 0 ? 1.0 - opt.alpha : 0.0;
    const double g_tail = opt.alpha > 0 ? s.g[size_t(k)] : 0.0;
    s.z_topk.resize(size_t(k));
    for (int i = 0; i < k; ++i) s.z_topk[size_t(i)] = z[ids[i]];
    const float inv_tau = float(1.0 / tau);
    const double lse1 = l1.all, lset = lt.all;
    // Every logit: q_1,j and q_τ,j by the vectorised exp, the sum in float. Each log-sum-exp
    // is split into a float head and tail, (z − hi) − lo, so a large log-sum-exp costs no
    // precision without widening the loop to double lanes.
    const float ce_c = float(grad_scale * ce_scale);
    const float kd_c = kd_scale > 0 && g_tail != 0 ? float(grad_scale * kd_scale * g_tail) : 0.0f;
    const float hi1 = float(lse1), lo1 = float(lse1 - double(hi1));
    const float hit = float(lset), lot = float(lset - double(hit));
    STILL_DISPATCH(kd_grad_all, dz, z, V, ce_c, kd_c, hi1, lo1, inv_tau, hit, lot);
    for (int i = 0; i < k; ++i) {
      double zi = s.z_topk[size_t(i)];
      double grad = 0;
      if (ce_scale > 0) grad += ce_scale * std::exp(zi - lse1);
      if (kd_scale > 0)
        grad += kd_scale * std::exp(double(float(zi) * inv_tau) - lset) * s.g[size_t(i)];
      dz[ids[i]] = float(grad_scale * grad);
    }
    if (target >= 0 && ce_scale > 0) dz[target] -= float(grad_scale * ce_scale);
  }
  for (int i = 0; i < k; ++i) s.in_topk[size_t(ids[i])] = 0;
  return r;
}

LossStats KdLoss::process(int64_t row0, int n, int V, float* logits, bool want_grad,
                          float grad_scale) {
  const int k = teacher_.k;
  // Validate serially: no exception may escape the parallel loop below.
  for (int r = 0; r < n; ++r) {
    const int32_t* ids = teacher_.ids + (row0 + r) * k;
    if (k == 0 || ids[0] < 0) continue;
    const int32_t limit = std::max(V, teacher_.teacher_vocab);
    for (int i = 0; i < k; ++i)  // message in pieces: built only when a check fails
      require(ids[i] >= 0 && ids[i] < limit, "teacher signal names token ", ids[i],
              " but the student's vocabulary has ", V,
              " tokens: teacher and student tokenizers differ");
  }
  std::vector<KdRowResult> res(static_cast<size_t>(n));
  std::vector<uint8_t> scored(size_t(n), 0), signal(size_t(n), 0);
#pragma omp parallel for schedule(static)
  for (int r = 0; r < n; ++r) {
    int64_t row = row0 + r;
    float* z = logits + int64_t(r) * V;
    int target = batch_.targets[size_t(row)];
    if (target < 0) {
      if (want_grad) std::fill(z, z + V, 0.0f);
      continue;
    }
    scored[size_t(r)] = 1;
    const int32_t* ids = teacher_.ids + row * k;
    bool has_signal = k > 0 && ids[0] >= 0;
    signal[size_t(r)] = has_signal;
    KdOptions opt = opt_;
    if (!has_signal) opt.alpha = 0;  // no teacher here: plain CE
    static const int32_t kNoIds[1] = {0};
    static const float kNoLogp[1] = {0};
    const float* logp = has_signal ? teacher_.logp + row * k : kNoLogp;
    float log_tail = has_signal ? teacher_.log_tail[row] : 0.0f;
    int row_k = has_signal ? k : 0;
    // Vocabularies that differ only by padding rows: teacher entries beyond the student's
    // last row (padding the tokenizer never emits) join the tail bucket.
    thread_local std::vector<int32_t> kept_ids;
    thread_local std::vector<float> kept_logp;
    if (has_signal && teacher_.teacher_vocab > V) {
      kept_ids.clear();
      kept_logp.clear();
      double tail = log_tail;
      for (int i = 0; i < k; ++i) {
        if (ids[i] < V) {
          kept_ids.push_back(ids[i]);
          kept_logp.push_back(logp[i]);
        } else {
          tail = log_add_exp(tail, double(logp[i]));
        }
      }
      ids = kept_ids.data();
      logp = kept_logp.data();
      row_k = int(kept_ids.size());
      log_tail = float(tail);
    }
    res[size_t(r)] = kd_row(z, V, has_signal ? ids : kNoIds, logp, log_tail, row_k,
                            std::min(teacher_.teacher_vocab, V), target, opt,
                            want_grad ? z : nullptr, grad_scale);
  }
  LossStats st;
  for (int r = 0; r < n; ++r) {  // fixed order: the sums don't depend on the thread count
    if (!scored[size_t(r)]) continue;
    st.loss_sum += res[size_t(r)].loss;
    st.count += 1;
    if (signal[size_t(r)]) {
      metrics_.kl_sum += res[size_t(r)].kl;
      metrics_.agree += res[size_t(r)].top1_agree;
      metrics_.tail_mass_sum += std::exp(res[size_t(r)].log_tail_q);
      metrics_.rows += 1;
    }
  }
  return st;
}

}  // namespace still
