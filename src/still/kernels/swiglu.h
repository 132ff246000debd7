// SwiGLU MLP activation: h = silu(gate) ⊙ up, silu(x) = x·σ(x).
#pragma once
#include <cstdint>

namespace still::kernels {

void swiglu_forward(float* h, const float* gate, const float* up, int64_t n);
// Overwrites dgate and dup.
void swiglu_backward(float* dgate, float* dup, const float* dh, const float* gate, const float* up,
                     int64_t n);

// The same on the output of one fused [W_gate; W_up] matmul: gu [rows, 2F] holds gate in
// columns [0, F) and up in [F, 2F); h and dh are [rows, F]; dgu (overwritten) is laid out
// like gu.
void swiglu_forward_packed(float* h, const float* gu, int64_t rows, int64_t F);
void swiglu_backward_packed(float* dgu, const float* dh, const float* gu, int64_t rows, int64_t F);

}  // namespace still::kernels
