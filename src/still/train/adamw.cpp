#include "still/train/adamw.h"

#include <algorithm>
#include <cmath>

#include "still/kernels/isa.h"
#include "still/util/op_profile.h"

namespace still::kernels {
// The scalars of one AdamW step.
struct AdamWCoeffs {
  float b1, b2, bc1, bc2, eps, lr, decay, grad_scale;
};
}  // namespace still::kernels

#define STILL_SIMD_BODY "still/train/adamw_simd.inc"
#include "still/kernels/per_isa.inc"

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
  std::vector<size_t> begin(decay_spans_.size()), end(decay_spans_.size());
  for (size_t s = 0; s < decay_spans_.size(); ++s) {
    begin[s] = decay_spans_[s].begin;
    end[s] = decay_spans_[s].end;
  }
  const kernels::AdamWCoeffs c{b1, b2, bc1, bc2, eps, lr, lr * wd, grad_scale};
  STILL_DISPATCH(adamw_update, params, grads, m_.data(), v_.data(), m_.size(), begin.data(),
                 end.data(), begin.size(), c);
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
