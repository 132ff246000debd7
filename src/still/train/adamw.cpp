#include "still/train/adamw.h"

#include <algorithm>
#include <cmath>

#include "still/util/op_profile.h"

namespace still {

AdamW::AdamW(const ParamLayout& layout, AdamWConfig cfg)
    : cfg_(cfg), m_(layout.total(), 0.0f), v_(layout.total(), 0.0f) {
  std::vector<Span> spans;
  for (auto& t : layout.tensors())
    if (t.weight_decay && t.numel > 0) spans.push_back({t.offset, t.offset + t.numel});
  std::sort(spans.begin(), spans.end(),
            [](const Span& a, const Span& b) { return a.begin < b.begin; });
  for (auto& s : spans)  // tied or packed tensors may touch or repeat: merge
    if (!decay_spans_.empty() && s.begin <= decay_spans_.back().end)
      decay_spans_.back().end = std::max(decay_spans_.back().end, s.end);
    else
      decay_spans_.push_back(s);
}

void AdamW::step(float* params, const float* grads, float lr, float grad_scale) {
  STILL_OP_SCOPE("adamw");
  ++t_;
  const float b1 = cfg_.beta1, b2 = cfg_.beta2, eps = cfg_.eps, wd = cfg_.weight_decay;
  const float bc1 = 1.0f - float(std::pow(double(b1), double(t_)));
  const float bc2 = 1.0f - float(std::pow(double(b2), double(t_)));
  float* m = m_.data();
  float* v = v_.data();
  // One vectorised loop over a range with or without decay (p − 0·p = p: the same bits as
  // skipping the decay).
  auto update = [&](size_t i0, size_t i1, float decay) {
#pragma omp simd
    for (size_t i = i0; i < i1; ++i) {
      const float g = grads[i] * grad_scale;
      m[i] = b1 * m[i] + (1.0f - b1) * g;
      v[i] = b2 * v[i] + (1.0f - b2) * g * g;
      const float mhat = m[i] / bc1;
      const float vhat = v[i] / bc2;
      float p = params[i];
      p -= decay * p;
      params[i] = p - lr * mhat / (std::sqrt(vhat) + eps);
    }
  };
  const size_t n = m_.size();
  constexpr size_t kBlock = 1 << 14;
  const int64_t blocks = int64_t((n + kBlock - 1) / kBlock);
  const std::vector<Span>& spans = decay_spans_;
#pragma omp parallel for schedule(static)
  for (int64_t blk = 0; blk < blocks; ++blk) {
    const size_t i1 = std::min(n, size_t(blk + 1) * kBlock);
    size_t i = size_t(blk) * kBlock;
    // First decay span that ends after i; walk the block in runs of equal decay.
    auto it = std::upper_bound(spans.begin(), spans.end(), i,
                               [](size_t x, const Span& s) { return x < s.end; });
    while (i < i1) {
      if (it != spans.end() && it->begin <= i) {
        const size_t e = std::min(i1, it->end);
        update(i, e, lr * wd);
        i = e;
        if (e == it->end) ++it;
      } else {
        const size_t e = it != spans.end() ? std::min(i1, it->begin) : i1;
        update(i, e, 0.0f);
        i = e;
      }
    }
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
