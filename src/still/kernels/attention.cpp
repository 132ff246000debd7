#include "still/kernels/attention.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "still/kernels/matmul.h"
#include "still/kernels/parallel.h"
#include "still/kernels/vexp.h"
#include "still/util/parallel_errors.h"

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

namespace {

// Rows of queries handled per block. Block i0..i1 only needs keys j0..i1−1 (causal), so the
// scores of one block are a [rows, keys] matrix and the work skipped above the diagonal
// shrinks with the block size; 64 rows keep each matmul big enough to run at speed.
constexpr int kRowBlock = 64;

// First key any query row of [i0, i1) may see (documents reset the causal window).
int first_key(const int32_t* positions_of_row, int i0, int i1) {
  int j0 = i1;
  for (int i = i0; i < i1; ++i) j0 = std::min(j0, i - positions_of_row[i]);
  return j0;
}

// Turns row r of the score block into probabilities in place: keys outside
// [i − pos_i, i] become 0. With lse_in null, computes the softmax and writes its logsumexp
// to *lse_out; otherwise uses the saved logsumexp (backward).
void softmax_row(float* s, int jn, int lo, int hi, const float* lse_in, float* lse_out) {
  for (int j = 0; j < lo; ++j) s[j] = 0.0f;
  for (int j = hi + 1; j < jn; ++j) s[j] = 0.0f;
  if (lse_in) {
    const float l = *lse_in;
#pragma omp simd
    for (int j = lo; j <= hi; ++j) s[j] = fast_exp(s[j] - l);
    return;
  }
  float m = s[lo];
#pragma omp simd reduction(max : m)
  for (int j = lo + 1; j <= hi; ++j) m = s[j] > m ? s[j] : m;
  float sum = 0;
#pragma omp simd reduction(+ : sum)
  for (int j = lo; j <= hi; ++j) {
    s[j] = fast_exp(s[j] - m);
    sum += s[j];
  }
  const float inv = 1.0f / sum;
#pragma omp simd
  for (int j = lo; j <= hi; ++j) s[j] *= inv;
  *lse_out = m + std::log(sum);
}

}  // namespace

// Per (batch row, head) and block of query rows: S = scale·Q·Kᵀ over the causal keys,
// P = masked softmax(S), O = P·V, all through matmul() (single-threaded inside the parallel
// loop, so the bits do not depend on the thread count).
void attention_forward(float* out, float* lse, const float* q, const float* k, const float* v,
                       const int32_t* positions, const AttentionDims& d) {
  const int H = d.n_heads, hd = d.head_dim, group = d.n_heads / d.n_kv_heads, T = d.T;
  const int64_t os = int64_t(H) * hd;
  const int64_t qs = d.q_stride ? d.q_stride : os;
  const int64_t kvs = d.kv_stride ? d.kv_stride : int64_t(d.n_kv_heads) * hd;
  const float scale = 1.0f / std::sqrt(float(hd));
  const int R = std::min(kRowBlock, T);
  ParallelErrors errors;
#pragma omp parallel
  {
    std::vector<float> scores;
    errors.run([&] { scores.resize(size_t(R) * size_t(T)); });
#pragma omp for schedule(static)
    for (int64_t bh = 0; bh < d.B * H; ++bh)
      errors.run([&] {
        if (scores.empty()) return;  // this thread's allocation failed (reported below)
        const int64_t b = bh / H;
        const int h = int(bh % H), g = h / group;
        const int32_t* pos = positions + b * T;
        for (int i0 = 0; i0 < T; i0 += R) {
          const int i1 = std::min(T, i0 + R), n = i1 - i0;
          const int j0 = first_key(pos, i0, i1), jn = i1 - j0;
          const float* qb = q + (b * T + i0) * qs + h * hd;
          const float* kb = k + (b * T + j0) * kvs + g * hd;
          const float* vb = v + (b * T + j0) * kvs + g * hd;
          float* S = scores.data();
          matmul(false, true, n, jn, hd, scale, qb, qs, kb, kvs, 0.0f, S, jn);
          for (int r = 0; r < n; ++r) {
            const int i = i0 + r;
            softmax_row(S + int64_t(r) * jn, jn, i - pos[i] - j0, i - j0, nullptr,
                        lse + bh * T + i);
          }
          matmul(false, false, n, hd, jn, 1.0f, S, jn, vb, kvs, 0.0f,
                 out + (b * T + i0) * os + h * hd, os);
        }
      });
  }
  errors.rethrow();
}

// Per (batch row, kv head), its query heads in order, and blocks of query rows: recompute P
// from the saved logsumexp, dP = dO·Vᵀ, dS = scale·P∘(dP − rowsum(dO∘O)), dQ = dS·K,
// dK += dSᵀ·Q, dV += Pᵀ·dO. The kv head's dk/dv are only touched by its own iteration.
void attention_backward(float* dq, float* dk, float* dv, const float* dout, const float* out,
                        const float* lse, const float* q, const float* k, const float* v,
                        const int32_t* positions, const AttentionDims& d) {
  const int H = d.n_heads, KVH = d.n_kv_heads, hd = d.head_dim, group = H / KVH, T = d.T;
  const int64_t os = int64_t(H) * hd;
  const int64_t qs = d.q_stride ? d.q_stride : os;
  const int64_t kvs = d.kv_stride ? d.kv_stride : int64_t(KVH) * hd;
  const float scale = 1.0f / std::sqrt(float(hd));
  const int R = std::min(kRowBlock, T);
  ParallelErrors errors;
#pragma omp parallel
  {
    std::vector<float> probs, dprobs;
    errors.run([&] {
      probs.resize(size_t(R) * size_t(T));
      dprobs.resize(size_t(R) * size_t(T));
    });
#pragma omp for schedule(static)
    for (int64_t bg = 0; bg < d.B * KVH; ++bg)
      errors.run([&] {
        if (dprobs.empty()) return;  // this thread's allocation failed (reported below)
        const int64_t b = bg / KVH;
        const int g = int(bg % KVH);
        const int32_t* pos = positions + b * T;
        const int64_t base = b * T * kvs + g * hd;
        for (int j = 0; j < T; ++j) {
          std::memset(dk + base + j * kvs, 0, sizeof(float) * size_t(hd));
          std::memset(dv + base + j * kvs, 0, sizeof(float) * size_t(hd));
        }
        for (int h = g * group; h < (g + 1) * group; ++h) {
          for (int i0 = 0; i0 < T; i0 += R) {
            const int i1 = std::min(T, i0 + R), n = i1 - i0;
            const int j0 = first_key(pos, i0, i1), jn = i1 - j0;
            const int64_t qoff = (b * T + i0) * qs + h * hd, kvoff = base + j0 * kvs;
            const int64_t ooff = (b * T + i0) * os + h * hd;
            float *P = probs.data(), *dS = dprobs.data();
            matmul(false, true, n, jn, hd, scale, q + qoff, qs, k + kvoff, kvs, 0.0f, P, jn);
            for (int r = 0; r < n; ++r) {
              const int i = i0 + r;
              softmax_row(P + int64_t(r) * jn, jn, i - pos[i] - j0, i - j0,
                          lse + (b * H + h) * T + i, nullptr);
            }
            matmul(false, true, n, jn, hd, 1.0f, dout + ooff, os, v + kvoff, kvs, 0.0f, dS, jn);
            for (int r = 0; r < n; ++r) {
              const int64_t row = ooff + int64_t(r) * os;
              // Σ_j p_j·dp_j equals dout_i·out_i, so no pass over the keys is needed for it.
              const float di = dot(dout + row, out + row, hd);
              float* dsr = dS + int64_t(r) * jn;
              const float* pr = P + int64_t(r) * jn;
#pragma omp simd
              for (int j = 0; j < jn; ++j) dsr[j] = scale * pr[j] * (dsr[j] - di);
            }
            matmul(false, false, n, hd, jn, 1.0f, dS, jn, k + kvoff, kvs, 0.0f, dq + qoff, qs);
            matmul(true, false, jn, hd, n, 1.0f, dS, jn, q + qoff, qs, 1.0f, dk + kvoff, kvs);
            matmul(true, false, jn, hd, n, 1.0f, P, jn, dout + ooff, os, 1.0f, dv + kvoff, kvs);
          }
        }
      });
  }
  errors.rethrow();
}

void attention_decode(float* out, const float* q, const float* k_cache, const float* v_cache, int n,
                      int64_t past, int n_heads, int n_kv_heads, int head_dim, int64_t q_stride) {
  const int group = n_heads / n_kv_heads;
  const int64_t qs = int64_t(n_heads) * head_dim, kvs = int64_t(n_kv_heads) * head_dim;
  const int64_t qld = q_stride ? q_stride : qs;
  const float scale = 1.0f / std::sqrt(float(head_dim));
#pragma omp parallel for schedule(static) if (n * n_heads * (past + n) * head_dim >= \
                                              kParallelMinWork)
  for (int64_t th = 0; th < int64_t(n) * n_heads; ++th) {
    const int64_t t = th / n_heads;
    const int h = int(th % n_heads), g = h / group;
    attend_row(out + t * qs + h * head_dim, q + t * qld + h * head_dim, k_cache + g * head_dim,
               v_cache + g * head_dim, kvs, 0, past + t, head_dim, scale);
  }
}

}  // namespace still::kernels
