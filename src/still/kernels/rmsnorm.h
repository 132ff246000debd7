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

// Strided rows: `tokens` rows of stride ld_* each hold `heads` consecutive rows of D (q/k
// norm on the q or k columns of a fused [q|k|v] row); rstd is [tokens·heads]. With
// heads = 1 and ld = D these are the functions above. The backward may run in place
// (dx == dy with the same stride).
void rmsnorm_forward_strided(float* y, int64_t ld_y, float* rstd, const float* x, int64_t ld_x,
                             const float* w, int64_t tokens, int heads, int D, float eps);
void rmsnorm_backward_strided(float* dx, int64_t ld_dx, float* dw, const float* dy, int64_t ld_dy,
                              const float* x, int64_t ld_x, const float* w, const float* rstd,
                              int64_t tokens, int heads, int D, bool accumulate_dx);

}  // namespace still::kernels
