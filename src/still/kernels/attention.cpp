#include "still/kernels/attention.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "still/kernels/isa.h"
#include "still/kernels/matmul.h"
#include "still/kernels/parallel.h"
#include "still/kernels/vexp.h"
#include "still/util/parallel_errors.h"

#define STILL_SIMD_BODY "still/kernels/attention_simd.inc"
#include "still/kernels/per_isa.inc"

namespace still::kernels {

void attention_forward(float* out, float* lse, const float* q, const float* k, const float* v,
                       const int32_t* positions, const AttentionDims& d) {
  STILL_DISPATCH(attention_forward, out, lse, q, k, v, positions, d);
}

void attention_backward(float* dq, float* dk, float* dv, const float* dout, const float* out,
                        const float* lse, const float* q, const float* k, const float* v,
                        const int32_t* positions, const AttentionDims& d) {
  STILL_DISPATCH(attention_backward, dq, dk, dv, dout, out, lse, q, k, v, positions, d);
}

void attention_decode(float* out, const float* q, const float* k_cache, const float* v_cache, int n,
                      int64_t past, int n_heads, int n_kv_heads, int head_dim,
                      int64_t q_stride) {
  STILL_DISPATCH(attention_decode, out, q, k_cache, v_cache, n, past, n_heads, n_kv_heads,
                 head_dim, q_stride);
}

}  // namespace still::kernels
