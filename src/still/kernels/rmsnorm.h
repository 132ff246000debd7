// RMSNorm: y = x / sqrt(mean(x²) + eps) ⊙ w, per row of D. The forward saves the inverse
// RMS of each row (rstd) for the backward. Used for the block norms (rows = tokens) and for
// Qwen3's q/k norm (rows = tokens × heads, D = head_dim).
#pragma once
#include <cstdint>

namespace still::kernels {

void rmsnorm_forward(float* y, float* rstd, const float* x, const float* w, int64_t rows, int D,
                     float eps);

// dx = ∂L/∂x (added to dx with accumulate_dx, else overwritten); dw += ∂L/∂w.
void rmsnorm_backward(float* dx, float* dw, const float* dy, const float* x, const float* w,
                      const float* rstd, int64_t rows, int D, bool accumulate_dx);

}  // namespace still::kernels
