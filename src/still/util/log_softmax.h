// The one log-sum-exp / log-softmax of libstill (scalar, in double). The fused vectorised
// row kernels (model/logit_loss.cpp's cross-entropy, model/kd_loss.cpp's row log-sum-exps)
// keep their own loops for speed; every other log-sum-exp calls these.
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>

namespace still {

// log(e^a + e^b) without overflow; exactly the other one when one is -inf.
inline double log_add_exp(double a, double b) {
  constexpr double kNegInf = -std::numeric_limits<double>::infinity();
  if (a == kNegInf) return b;
  if (b == kNegInf) return a;
  const double m = std::max(a, b);
  return m + std::log(std::exp(a - m) + std::exp(b - m));
}

// max + log Σ exp(x(i) − max) over i in [0, n), summed in double in index order. `max` is
// the largest x(i) (what keeps the exponentials from overflowing); x: i -> double.
template <class X>
double log_sum_exp_from(double max, int64_t n, const X& x) {
  double sum = 0;
  for (int64_t i = 0; i < n; ++i) sum += std::exp(x(i) - max);
  return max + std::log(sum);
}

// log Σ exp(x(i)) over i in [0, n), n >= 1: the max first, then log_sum_exp_from.
template <class X>
double log_sum_exp(int64_t n, const X& x) {
  double max = -std::numeric_limits<double>::infinity();
  for (int64_t i = 0; i < n; ++i) max = std::max(max, x(i));
  return log_sum_exp_from(max, n, x);
}

inline double log_sum_exp(const float* x, int64_t n) {
  return log_sum_exp(n, [x](int64_t i) { return double(x[i]); });
}

// out[i] = log softmax(x)[i], computed in double and rounded once; returns the log-sum-exp.
inline double log_softmax(const float* x, int64_t n, float* out) {
  const double lse = log_sum_exp(x, n);
  for (int64_t i = 0; i < n; ++i) out[i] = float(double(x[i]) - lse);
  return lse;
}

}  // namespace still
