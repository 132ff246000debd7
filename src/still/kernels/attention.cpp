#include "still/kernels/attention.h"

#include <cmath>
#include <cstring>

#include "still/kernels/parallel.h"

namespace still::kernels {

namespace {

// `omp simd` lets the compiler vectorise the sum (a fixed order for a given build).
float dot(const float* a, const float* b, int n) {
  float s = 0;
#pragma omp simd reduction(+ : s)
  for (int i = 0; i < n; ++i) s += a[i] * b[i];
  return s;
}

// out = softmax(scale·q·k_jᵀ)_j · v_j over key rows j0..j1 (row stride `stride`), computed in
// one pass with a running maximum (online softmax). Returns the logsumexp of the scores.
float attend_row(float* out, const float* q, const float* k, const float* v, int64_t stride,
                 int64_t j0, int64_t j1, int hd, float scale) {
  float m = -INFINITY, l = 0;
  std::memset(out, 0, sizeof(float) * size_t(hd));
  for (int64_t j = j0; j <= j1; ++j) {
    const float s = scale * dot(q, k + j * stride, hd);
    if (s > m) {  // new maximum: rescale what was accumulated so far
      const float c = std::exp(m - s);
      l *= c;
      for (int d = 0; d < hd; ++d) out[d] *= c;
      m = s;
    }
    const float p = std::exp(s - m);
    l += p;
    const float* vj = v + j * stride;
    for (int d = 0; d < hd; ++d) out[d] += p * vj[d];
  }
  const float inv = 1.0f / l;
  for (int d = 0; d < hd; ++d) out[d] *= inv;
  return m + std::log(l);
}

}  // namespace

void attention_forward(float* out, float* lse, const float* q, const float* k, const float* v,
                       const int32_t* positions, const AttentionDims& d) {
  const int H = d.n_heads, hd = d.head_dim, group = d.n_heads / d.n_kv_heads, T = d.T;
  const int64_t qs = int64_t(H) * hd, kvs = int64_t(d.n_kv_heads) * hd;
  const float scale = 1.0f / std::sqrt(float(hd));
#pragma omp parallel for schedule(static) if (d.B * H * T * T * hd >= kParallelMinWork)
  for (int64_t bh = 0; bh < d.B * H; ++bh) {
    const int64_t b = bh / H;
    const int h = int(bh % H), g = h / group;
    const float* kb = k + b * T * kvs + g * hd;
    const float* vb = v + b * T * kvs + g * hd;
    for (int i = 0; i < T; ++i) {
      const int64_t row = b * T + i;
      lse[bh * T + i] = attend_row(out + row * qs + h * hd, q + row * qs + h * hd, kb, vb, kvs,
                                   i - positions[row], i, hd, scale);
    }
  }
}

void attention_backward(float* dq, float* dk, float* dv, const float* dout, const float* out,
                        const float* lse, const float* q, const float* k, const float* v,
                        const int32_t* positions, const AttentionDims& d) {
  const int H = d.n_heads, KVH = d.n_kv_heads, hd = d.head_dim, group = H / KVH, T = d.T;
  const int64_t qs = int64_t(H) * hd, kvs = int64_t(KVH) * hd;
  const float scale = 1.0f / std::sqrt(float(hd));
#pragma omp parallel for schedule(static) if (d.B * H * T * T * hd >= kParallelMinWork)
  for (int64_t bg = 0; bg < d.B * KVH; ++bg) {
    const int64_t b = bg / KVH;
    const int g = int(bg % KVH);
    const int64_t base = b * T * kvs + g * hd;
    for (int j = 0; j < T; ++j) {
      std::memset(dk + base + j * kvs, 0, sizeof(float) * size_t(hd));
      std::memset(dv + base + j * kvs, 0, sizeof(float) * size_t(hd));
    }
    for (int h = g * group; h < (g + 1) * group; ++h) {
      for (int i = 0; i < T; ++i) {
        const int64_t row = b * T + i;
        const float* qi = q + row * qs + h * hd;
        const float* doi = dout + row * qs + h * hd;
        float* dqi = dq + row * qs + h * hd;
        std::memset(dqi, 0, sizeof(float) * size_t(hd));
        // Σ_j p_j·dp_j equals dout_i·out_i, so no pass over the keys is needed for it.
        const float di = dot(doi, out + row * qs + h * hd, hd);
        const float li = lse[(b * H + h) * T + i];
        for (int j = i - positions[row]; j <= i; ++j) {
          const float* kj = k + base + j * kvs;
          const float* vj = v + base + j * kvs;
          float* dkj = dk + base + j * kvs;
          float* dvj = dv + base + j * kvs;
          const float p = std::exp(scale * dot(qi, kj, hd) - li);
          const float ds = scale * p * (dot(doi, vj, hd) - di);
          for (int e = 0; e < hd; ++e) {
            dqi[e] += ds * kj[e];
            dkj[e] += ds * qi[e];
            dvj[e] += p * doi[e];
          }
        }
      }
    }
  }
}

void attention_decode(float* out, const float* q, const float* k_cache, const float* v_cache, int n,
                      int64_t past, int n_heads, int n_kv_heads, int head_dim) {
  const int group = n_heads / n_kv_heads;
  const int64_t qs = int64_t(n_heads) * head_dim, kvs = int64_t(n_kv_heads) * head_dim;
  const float scale = 1.0f / std::sqrt(float(head_dim));
#pragma omp parallel for schedule(static) if (n * n_heads * (past + n) * head_dim >= \
                                              kParallelMinWork)
  for (int64_t th = 0; th < int64_t(n) * n_heads; ++th) {
    const int64_t t = th / n_heads;
    const int h = int(th % n_heads), g = h / group;
    attend_row(out + t * qs + h * head_dim, q + t * qs + h * head_dim, k_cache + g * head_dim,
               v_cache + g * head_dim, kvs, 0, past + t, head_dim, scale);
  }
}

}  // namespace still::kernels
