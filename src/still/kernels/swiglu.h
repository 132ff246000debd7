// SwiGLU MLP activation: h = silu(gate) ⊙ up, silu(x) = x·σ(x).
#pragma once
#include <cstdint>

namespace still::kernels {

void swiglu_forward(float* h, const float* gate, const float* up, int64_t n);
// Overwrites dgate and dup.
void swiglu_backward(float* dgate, float* dup, const float* dh, const float* gate, const float* up,
                     int64_t n);

}  // namespace still::kernels
