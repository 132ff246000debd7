// Learning-rate schedule: linear warmup to the peak, then cosine decay to min_lr at the
// last step. Step numbers count from 0.
#pragma once
#include <cstddef>
#include <cstdint>

namespace still::train {

struct LrSchedule {
  double peak = 1e-3, min_lr = 1e-4;
  int64_t warmup = 0, total = 1;
  // lr for step s: peak·(s+1)/warmup during warmup; afterwards cosine from peak (at
  // s = warmup) to min_lr (at s = total-1); min_lr beyond.
  double at(int64_t s) const;
};

// The factor that brings a gradient of global L2 norm `norm` to at most max_norm: 1 when
// max_norm <= 0 or the norm is already below it. The trainer hands it to AdamW::step.
float clip_factor(double norm, double max_norm);
// Scales grads in place by clip_factor(norm, max_norm). Returns the factor applied.
float clip_grads(float* grads, size_t n, double norm, double max_norm);

}  // namespace still::train
