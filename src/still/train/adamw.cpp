#include "still/train/adamw.h"

#include <cmath>

#include "still/util/op_profile.h"

namespace still {

AdamW::AdamW(const ParamLayout& layout, AdamWConfig cfg)
    : cfg_(cfg), m_(layout.total(), 0.0f), v_(layout.total(), 0.0f),
      decay_mask_(layout.total(), 0) {
  for (auto& t : layout.tensors())
    if (t.weight_decay)
      for (size_t i = 0; i < t.numel; ++i) decay_mask_[t.offset + i] = 1;
}

void AdamW::step(float* params, const float* grads, float lr) {
  STILL_OP_SCOPE("adamw");
  ++t_;
  const float b1 = cfg_.beta1, b2 = cfg_.beta2, eps = cfg_.eps, wd = cfg_.weight_decay;
  const float bc1 = 1.0f - float(std::pow(double(b1), double(t_)));
  const float bc2 = 1.0f - float(std::pow(double(b2), double(t_)));
  const int64_t n = int64_t(m_.size());
  float* m = m_.data();
  float* v = v_.data();
  const uint8_t* mask = decay_mask_.data();
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < n; ++i) {
    float g = grads[i];
    m[i] = b1 * m[i] + (1.0f - b1) * g;
    v[i] = b2 * v[i] + (1.0f - b2) * g * g;
    float mhat = m[i] / bc1;
    float vhat = v[i] / bc2;
    float p = params[i];
    if (mask[i]) p -= lr * wd * p;
    params[i] = p - lr * mhat / (std::sqrt(vhat) + eps);
  }
}

double global_grad_norm(const float* grads, size_t n) {
  // Fixed-size blocks summed in order: the same result for any thread count.
  constexpr size_t kBlock = 1 << 14;
  size_t nb = (n + kBlock - 1) / kBlock;
  std::vector<double> partial(nb, 0.0);
#pragma omp parallel for schedule(static)
  for (int64_t b = 0; b < int64_t(nb); ++b) {
    double s = 0;
    size_t end = std::min(n, size_t(b + 1) * kBlock);
    for (size_t i = size_t(b) * kBlock; i < end; ++i) s += double(grads[i]) * grads[i];
    partial[size_t(b)] = s;
  }
  double s = 0;
  for (double p : partial) s += p;
  return std::sqrt(s);
}

}  // namespace still
