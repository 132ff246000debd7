// Rotary position embeddings in the Hugging Face convention ("rotate half"): within each
// head, element i is rotated together with element i + head_dim/2 by the angle
// position · inv_freq[i]. Positions come from the batch (they restart at 0 per document).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace still::kernels {

// HF rope_scaling: "default" (none), "linear" (inv_freq / factor) or "llama3" (Llama 3.1:
// long wavelengths divided by factor, short ones kept, a smooth ramp in between).
struct RopeScaling {
  std::string type = "default";
  double factor = 1.0;
  double low_freq_factor = 1.0, high_freq_factor = 4.0;
  double original_max_positions = 8192;
};

// inv_freq[i] = theta^(-2i/head_dim) for i < head_dim/2, then scaled; in double.
std::vector<double> rope_inv_freq(int head_dim, double theta, const RopeScaling& scaling);

// cos/sin tables [n_pos, head_dim/2] for positions pos0 .. pos0 + n_pos - 1 (angles in double).
void rope_tables(const std::vector<double>& inv_freq, int64_t pos0, int64_t n_pos, float* cos,
                 float* sin);

// In place on x [n_tokens, n_heads·head_dim] (row stride ld; 0 = n_heads·head_dim, i.e.
// dense: ld > 0 reaches the q or k columns of a fused [q|k|v] row); token t uses row
// positions[t] of the tables.
void rope_forward(float* x, const int32_t* positions, int64_t n_tokens, int n_heads, int head_dim,
                  const float* cos, const float* sin, int64_t ld = 0);
// The transpose (inverse) rotation, in place on the gradient.
void rope_backward(float* dx, const int32_t* positions, int64_t n_tokens, int n_heads, int head_dim,
                   const float* cos, const float* sin, int64_t ld = 0);

}  // namespace still::kernels
