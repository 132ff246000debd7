#include "still/train/schedule.h"

#include <cmath>

namespace still::train {

double LrSchedule::at(int64_t s) const {
  if (s < warmup) return peak * double(s + 1) / double(warmup);
  int64_t span = total - 1 - warmup;
  if (span <= 0) return peak;  // no room to decay
  if (s >= total - 1) return min_lr;
  double progress = double(s - warmup) / double(span);
  return min_lr + 0.5 * (peak - min_lr) * (1.0 + std::cos(M_PI * progress));
}

float clip_factor(double norm, double max_norm) {
  if (max_norm <= 0 || !(norm > max_norm)) return 1.0f;
  return float(max_norm / norm);
}

float clip_grads(float* grads, size_t n, double norm, double max_norm) {
  const float f = clip_factor(norm, max_norm);
  if (f == 1.0f) return f;
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < int64_t(n); ++i) grads[i] *= f;
  return f;
}

}  // namespace still::train
