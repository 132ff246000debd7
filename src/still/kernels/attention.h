// Causal grouped-query attention with document resets, softmax in fp32.
// Layouts (row-major, one row per token): q and out [B·T, n_heads·head_dim],
// k and v [B·T, n_kv_heads·head_dim]; query head h reads kv head h / (n_heads / n_kv_heads).
// Token i of a row attends token j of the same row iff i − positions[i] <= j <= i.
// The forward saves only the logsumexp of each score row (lse [B, n_heads, T]); the backward
// recomputes the probabilities from it instead of keeping T×T matrices.
#pragma once
#include <cstdint>

namespace still::kernels {

struct AttentionDims {
  int64_t B = 0;
  int T = 0, n_heads = 0, n_kv_heads = 0, head_dim = 0;
  // Row strides of q/dq and of k, v, dk, dv; 0 = dense (n_heads·head_dim, n_kv_heads·head_dim).
  // Larger strides read q, k, v (and write their gradients) inside one fused [q|k|v] row.
  int64_t q_stride = 0, kv_stride = 0;
};

// Work is partitioned over (batch row, head).
void attention_forward(float* out, float* lse, const float* q, const float* k, const float* v,
                       const int32_t* positions, const AttentionDims& d);

// Overwrites dq, dk, dv. Partitioned over (batch row, kv head) so that the heads sharing a
// kv head add into dk/dv in a fixed order.
void attention_backward(float* dq, float* dk, float* dv, const float* dout, const float* out,
                        const float* lse, const float* q, const float* k, const float* v,
                        const int32_t* positions, const AttentionDims& d);

// Incremental decoding: q [n, n_heads·head_dim] (row stride q_stride; 0 = dense) holds new
// tokens at absolute positions past .. past+n−1; new token t attends cache rows 0 .. past+t
// of k_cache/v_cache ([rows, n_kv_heads·head_dim]; one document). out is dense.
void attention_decode(float* out, const float* q, const float* k_cache, const float* v_cache, int n,
                      int64_t past, int n_heads, int n_kv_heads, int head_dim,
                      int64_t q_stride = 0);

}  // namespace still::kernels
