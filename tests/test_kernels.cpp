// Every kernel against a scalar double-precision reference written here: the forward is
// compared with the reference forward, the backward with central finite differences of
// the reference forward (in double, so the differences are accurate to ~1e-9). Neither
// reference shares code with the kernels.
#include <gtest/gtest.h>
#include <omp.h>

#include <cmath>
#include <cstring>
#include <functional>
#include <vector>

#include "isa_paths.h"
#include "still/kernels/attention.h"
#include "still/kernels/embedding.h"
#include "still/kernels/linear.h"
#include "still/kernels/matmul.h"
#include "still/kernels/rmsnorm.h"
#include "still/kernels/rope.h"
#include "still/kernels/swiglu.h"
#include "still/model/logit_loss.h"
#include "still/util/error.h"
#include "still/util/rng.h"

namespace still {
namespace {

namespace k = kernels;
using VecD = std::vector<double>;
using VecF = std::vector<float>;

VecF random_vec(size_t n, uint64_t seed, double scale = 1.0) {
  Rng r(seed);
  VecF v(n);
  for (auto& x : v) x = float(scale * r.normal());
  return v;
}
VecD to_d(const VecF& v) { return VecD(v.begin(), v.end()); }

// ‖a − b‖ / ‖b‖.
double rel_err(const VecF& a, const VecD& b) {
  double num = 0, den = 0;
  for (size_t i = 0; i < b.size(); ++i) {
    num += (double(a[i]) - b[i]) * (double(a[i]) - b[i]);
    den += b[i] * b[i];
  }
  return std::sqrt(num / std::max(den, 1e-300));
}

// Gradient of the scalar f at x by central differences (f in double).
VecD fd_grad(const std::function<double(const VecD&)>& f, VecD x, double h = 1e-6) {
  VecD g(x.size());
  for (size_t i = 0; i < x.size(); ++i) {
    const double x0 = x[i];
    x[i] = x0 + h;
    const double fp = f(x);
    x[i] = x0 - h;
    const double fm = f(x);
    x[i] = x0;
    g[i] = (fp - fm) / (2 * h);
  }
  return g;
}

double dot(const VecD& a, const VecD& b) {
  double s = 0;
  for (size_t i = 0; i < a.size(); ++i) s += a[i] * b[i];
  return s;
}

// ---------------------------------------------------------------------------------------
// matmul

TEST(Kernels, MatmulAllTransposesAndAccumulate) {
  const int M = 13, N = 9, K = 21;
  for (int ta = 0; ta < 2; ++ta)
    for (int tb = 0; tb < 2; ++tb) {
      // Stored shapes: A is [M,K] or [K,M]; B is [K,N] or [N,K]. Use padded strides.
      const int lda = (ta ? M : K) + 3, ldb = (tb ? K : N) + 2, ldc = N + 1;
      VecF A = random_vec(size_t((ta ? K : M) * lda), 1),
           B = random_vec(size_t((tb ? N : K) * ldb), 2);
      VecF C = random_vec(size_t(M * ldc), 3);
      VecD ref(size_t(M * ldc));
      for (int i = 0; i < M; ++i)
        for (int j = 0; j < N; ++j) {
          double s = 0;
          for (int p = 0; p < K; ++p) {
            double a = ta ? A[size_t(p * lda + i)] : A[size_t(i * lda + p)];
            double b = tb ? B[size_t(j * ldb + p)] : B[size_t(p * ldb + j)];
            s += a * b;
          }
          ref[size_t(i * ldc + j)] = 0.5 * s + 1.0 * C[size_t(i * ldc + j)];
        }
      k::matmul(ta, tb, M, N, K, 0.5f, A.data(), lda, B.data(), ldb, 1.0f, C.data(), ldc);
      for (int i = 0; i < M; ++i)
        for (int j = 0; j < N; ++j)
          EXPECT_NEAR(C[size_t(i * ldc + j)], ref[size_t(i * ldc + j)], 1e-4)
              << "ta=" << ta << " tb=" << tb << " i=" << i << " j=" << j;
    }
}

TEST(Kernels, LinearForwardBackwardWithBias) {
  const int N = 6, I = 10, O = 7;
  VecF x = random_vec(N * I, 4), W = random_vec(O * I, 5), b = random_vec(O, 6);
  VecF dy = random_vec(N * O, 7);
  auto f = [&](const VecD& xw) {  // xw = [x | W | b]; returns Σ dy·y in double
    double L = 0;
    for (int n = 0; n < N; ++n)
      for (int o = 0; o < O; ++o) {
        double y = xw[size_t(N * I + O * I + o)];
        for (int i = 0; i < I; ++i) y += xw[size_t(n * I + i)] * xw[size_t(N * I + o * I + i)];
        L += dy[size_t(n * O + o)] * y;
      }
    return L;
  };
  VecD all = to_d(x);
  all.insert(all.end(), W.begin(), W.end());
  all.insert(all.end(), b.begin(), b.end());
  VecD g = fd_grad(f, all);

  VecF y(N * O);
  const k::LinearWeight Wl{.out = O, .in = I, .f32 = W.data()};
  k::LinearScratch scratch;
  k::linear_forward(y.data(), x.data(), nullptr, Wl, b.data(), N, false, scratch);
  VecD yref(N * O);
  for (int n = 0; n < N; ++n)
    for (int o = 0; o < O; ++o) {
      double s = b[size_t(o)];
      for (int i = 0; i < I; ++i) s += double(x[size_t(n * I + i)]) * W[size_t(o * I + i)];
      yref[size_t(n * O + o)] = s;
    }
  EXPECT_LT(rel_err(y, yref), 1e-6);
  // accumulate = true adds to what is in y.
  VecF y2 = y;
  k::linear_forward(y2.data(), x.data(), nullptr, Wl, b.data(), N, true, scratch);
  for (size_t i = 0; i < y.size(); ++i) EXPECT_NEAR(y2[i], 2 * y[i], 1e-5);

  // Backward: gradients accumulate into dW and db (pre-filled with 1), dx is overwritten.
  VecF dx(N * I, 123.0f), dW(O * I, 1.0f), db(O, 1.0f);
  k::linear_backward(dx.data(), dW.data(), db.data(), dy.data(), x.data(), nullptr, Wl, N, false,
                     scratch);
  VecD gx(g.begin(), g.begin() + N * I), gW(g.begin() + N * I, g.begin() + N * I + O * I),
      gb(g.begin() + N * I + O * I, g.end());
  for (auto& v : gW) v += 1;
  for (auto& v : gb) v += 1;
  EXPECT_LT(rel_err(dx, gx), 1e-6);
  EXPECT_LT(rel_err(dW, gW), 1e-6);
  EXPECT_LT(rel_err(db, gb), 1e-6);
}

// ---------------------------------------------------------------------------------------
// RMSNorm

VecD rmsnorm_ref(const VecD& x, const VecD& w, int rows, int D, double eps) {
  VecD y(x.size());
  for (int r = 0; r < rows; ++r) {
    double ss = 0;
    for (int i = 0; i < D; ++i) ss += x[size_t(r * D + i)] * x[size_t(r * D + i)];
    const double s = 1.0 / std::sqrt(ss / D + eps);
    for (int i = 0; i < D; ++i) y[size_t(r * D + i)] = x[size_t(r * D + i)] * s * w[size_t(i)];
  }
  return y;
}

TEST(Kernels, RmsNormForwardBackward) {
  testing::for_each_kernel_isa([&] {
    const int rows = 5, D = 70;  // D > 64: two column blocks in the weight gradient
    const float eps = 1e-5f;
    VecF x = random_vec(rows * D, 8), w = random_vec(D, 9), dy = random_vec(rows * D, 10);
    for (auto& v : w) v += 1.0f;
    VecF y(rows * D), rstd(rows);
    k::rmsnorm_forward(y.data(), rstd.data(), x.data(), w.data(), rows, D, eps);
    EXPECT_LT(rel_err(y, rmsnorm_ref(to_d(x), to_d(w), rows, D, eps)), 1e-6);

    VecD xd = to_d(x), wd = to_d(w);
    auto loss_x = [&](const VecD& v) { return dot(to_d(dy), rmsnorm_ref(v, wd, rows, D, eps)); };
    auto loss_w = [&](const VecD& v) { return dot(to_d(dy), rmsnorm_ref(xd, v, rows, D, eps)); };
    VecD gx = fd_grad(loss_x, xd), gw = fd_grad(loss_w, wd);

    VecF dx(rows * D, 0.5f), dw(D, 0.0f);
    k::rmsnorm_backward(dx.data(), dw.data(), dy.data(), x.data(), w.data(), rstd.data(), rows, D,
                        /*accumulate_dx=*/true);
    for (auto& v : gx) v += 0.5;  // accumulated onto the 0.5 already there
    EXPECT_LT(rel_err(dx, gx), 1e-5);
    EXPECT_LT(rel_err(dw, gw), 1e-5);
  });
}

// ---------------------------------------------------------------------------------------
// SwiGLU

TEST(Kernels, SwigluForwardBackward) {
  testing::for_each_kernel_isa([&] {
    const int n = 50;
    VecF g = random_vec(n, 11, 3.0), u = random_vec(n, 12), dh = random_vec(n, 13);
    auto ref = [](double gi, double ui) { return gi / (1 + std::exp(-gi)) * ui; };
    VecF h(n);
    k::swiglu_forward(h.data(), g.data(), u.data(), n);
    VecD href(n);
    for (int i = 0; i < n; ++i) href[size_t(i)] = ref(g[size_t(i)], u[size_t(i)]);
    EXPECT_LT(rel_err(h, href), 1e-6);
    VecF dg(n), du(n);
    k::swiglu_backward(dg.data(), du.data(), dh.data(), g.data(), u.data(), n);
    VecD dgr(n), dur(n);
    const double e = 1e-6;
    for (int i = 0; i < n; ++i) {
      const double gi = g[size_t(i)], ui = u[size_t(i)];
      dgr[size_t(i)] = dh[size_t(i)] * (ref(gi + e, ui) - ref(gi - e, ui)) / (2 * e);
      dur[size_t(i)] = dh[size_t(i)] * (ref(gi, ui + e) - ref(gi, ui - e)) / (2 * e);
    }
    EXPECT_LT(rel_err(dg, dgr), 1e-5);
    EXPECT_LT(rel_err(du, dur), 1e-5);
  });
}

// ---------------------------------------------------------------------------------------
// RoPE

// Positions of two rows of 7 tokens; the second row holds two documents.
const std::vector<int32_t> kPositions = {0, 1, 2, 3, 4, 5, 6, 0, 1, 2, 0, 1, 2, 3};

VecD rope_ref(const VecD& x, const std::vector<int32_t>& pos, int heads, int hd, double theta) {
  VecD y(x.size());
  const int half = hd / 2;
  for (size_t t = 0; t < pos.size(); ++t)
    for (int h = 0; h < heads; ++h)
      for (int i = 0; i < half; ++i) {
        const double ang = pos[t] * std::pow(theta, -2.0 * i / hd);
        const size_t a = (t * heads + size_t(h)) * size_t(hd) + size_t(i), b = a + size_t(half);
        // rotate_half: [x1, x2] -> [x1 cos − x2 sin, x2 cos + x1 sin]
        y[a] = x[a] * std::cos(ang) - x[b] * std::sin(ang);
        y[b] = x[b] * std::cos(ang) + x[a] * std::sin(ang);
      }
  return y;
}

TEST(Kernels, RopeForwardBackwardHalfRotation) {
  testing::for_each_kernel_isa([&] {
    const int heads = 3, hd = 8, T = int(kPositions.size());
    const double theta = 10000;
    VecF x = random_vec(size_t(T * heads * hd), 14), dy = random_vec(x.size(), 15);
    auto inv = k::rope_inv_freq(hd, theta, {});
    VecF cos(7 * hd / 2), sin(7 * hd / 2);
    k::rope_tables(inv, 0, 7, cos.data(), sin.data());
    VecF y = x;
    k::rope_forward(y.data(), kPositions.data(), T, heads, hd, cos.data(), sin.data());
    EXPECT_LT(rel_err(y, rope_ref(to_d(x), kPositions, heads, hd, theta)), 1e-6);
    auto loss = [&](const VecD& v) {
      return dot(to_d(dy), rope_ref(v, kPositions, heads, hd, theta));
    };
    VecD gx = fd_grad(loss, to_d(x));
    VecF dx = dy;
    k::rope_backward(dx.data(), kPositions.data(), T, heads, hd, cos.data(), sin.data());
    EXPECT_LT(rel_err(dx, gx), 1e-6);
  });
}

TEST(Kernels, RopeLlama3ScalingRegimes) {
  // head_dim 16, theta 1e4: wavelengths 2π·10^(i/2) = 6.3, 19.9, 62.8, 199, 628, ... With
  // original_max_positions 256, low 1, high 4: wavelengths < 64 keep their frequency, > 256
  // are divided by the factor, and 199 is interpolated.
  k::RopeScaling s;
  s.type = "llama3";
  s.factor = 8;
  s.low_freq_factor = 1;
  s.high_freq_factor = 4;
  s.original_max_positions = 256;
  auto base = k::rope_inv_freq(16, 1e4, {});
  auto f = k::rope_inv_freq(16, 1e4, s);
  for (int i = 0; i < 3; ++i) EXPECT_DOUBLE_EQ(f[size_t(i)], base[size_t(i)]);
  for (int i = 4; i < 8; ++i) EXPECT_DOUBLE_EQ(f[size_t(i)], base[size_t(i)] / 8);
  const double wl = 2 * M_PI / base[3], smooth = (256 / wl - 1) / 3;
  EXPECT_NEAR(f[3], (1 - smooth) * base[3] / 8 + smooth * base[3], 1e-15);
  EXPECT_GT(f[3], base[3] / 8);
  EXPECT_LT(f[3], base[3]);
  s.type = "yarn";
  EXPECT_THROW(k::rope_inv_freq(16, 1e4, s), Error);
}

// ---------------------------------------------------------------------------------------
// Attention

struct AttnCase {
  int B = 2, T = 7, H = 4, KVH = 2, hd = 6;
};

// Reference in double: causal, GQA, document reset from positions.
VecD attention_ref(const VecD& q, const VecD& kk, const VecD& v, const AttnCase& c) {
  VecD out(size_t(c.B * c.T * c.H * c.hd), 0.0);
  const int qs = c.H * c.hd, kvs = c.KVH * c.hd;
  for (int b = 0; b < c.B; ++b)
    for (int h = 0; h < c.H; ++h) {
      const int g = h / (c.H / c.KVH);
      for (int i = 0; i < c.T; ++i) {
        const int row = b * c.T + i;
        std::vector<double> s;
        for (int j = 0; j < c.T; ++j) {
          const bool visible = j <= i && j >= i - kPositions[size_t(row)];
          double d = -INFINITY;
          if (visible) {
            d = 0;
            for (int e = 0; e < c.hd; ++e)
              d += q[size_t(row * qs + h * c.hd + e)] *
                   kk[size_t((b * c.T + j) * kvs + g * c.hd + e)];
            d /= std::sqrt(double(c.hd));
          }
          s.push_back(d);
        }
        double mx = -INFINITY, sum = 0;
        for (double d : s) mx = std::max(mx, d);
        for (double& d : s) sum += (d = std::exp(d - mx));
        for (int j = 0; j < c.T; ++j)
          for (int e = 0; e < c.hd; ++e)
            out[size_t(row * qs + h * c.hd + e)] +=
                s[size_t(j)] / sum * v[size_t((b * c.T + j) * kvs + g * c.hd + e)];
      }
    }
  return out;
}

void check_attention(const AttnCase& c) {
  const size_t nq = size_t(c.B * c.T * c.H * c.hd), nkv = size_t(c.B * c.T * c.KVH * c.hd);
  VecF q = random_vec(nq, 16), kk = random_vec(nkv, 17), v = random_vec(nkv, 18);
  VecF dout = random_vec(nq, 19);
  k::AttentionDims d{c.B, c.T, c.H, c.KVH, c.hd};
  VecF out(nq), lse(size_t(c.B * c.H * c.T));
  k::attention_forward(out.data(), lse.data(), q.data(), kk.data(), v.data(), kPositions.data(), d);
  EXPECT_LT(rel_err(out, attention_ref(to_d(q), to_d(kk), to_d(v), c)), 1e-6);

  VecD qd = to_d(q), kd = to_d(kk), vd = to_d(v), dod = to_d(dout);
  VecD gq = fd_grad([&](const VecD& x) { return dot(dod, attention_ref(x, kd, vd, c)); }, qd);
  VecD gk = fd_grad([&](const VecD& x) { return dot(dod, attention_ref(qd, x, vd, c)); }, kd);
  VecD gv = fd_grad([&](const VecD& x) { return dot(dod, attention_ref(qd, kd, x, c)); }, vd);
  VecF dq(nq, 7.0f), dk(nkv, 7.0f), dv(nkv, 7.0f);  // overwritten, not accumulated
  k::attention_backward(dq.data(), dk.data(), dv.data(), dout.data(), out.data(), lse.data(),
                        q.data(), kk.data(), v.data(), kPositions.data(), d);
  EXPECT_LT(rel_err(dq, gq), 1e-5);
  EXPECT_LT(rel_err(dk, gk), 1e-5);
  EXPECT_LT(rel_err(dv, gv), 1e-5);
}

TEST(Kernels, AttentionGroupedQueryWithDocumentReset) {
  testing::for_each_kernel_isa([&] { check_attention(AttnCase{}); });
}

TEST(Kernels, AttentionMultiHead) {
  testing::for_each_kernel_isa([&] {
    AttnCase c;
    c.KVH = c.H;
    check_attention(c);
  });
}

TEST(Kernels, AttentionDecodeMatchesBatchedAttention) {
  testing::for_each_kernel_isa([&] {
    // One document of 7 tokens: decoding 3 then 4 new rows against a cache must equal the
    // batched forward for the same rows.
    AttnCase c;
    c.B = 1;
    const int qs = c.H * c.hd, kvs = c.KVH * c.hd;
    VecF q = random_vec(size_t(c.T * qs), 20), kk = random_vec(size_t(c.T * kvs), 21),
         v = random_vec(size_t(c.T * kvs), 22);
    std::vector<int32_t> pos = {0, 1, 2, 3, 4, 5, 6};
    VecF out(q.size()), lse(size_t(c.H * c.T));
    k::attention_forward(out.data(), lse.data(), q.data(), kk.data(), v.data(), pos.data(),
                         {1, c.T, c.H, c.KVH, c.hd});
    VecF dec(q.size());
    k::attention_decode(dec.data(), q.data(), kk.data(), v.data(), 3, 0, c.H, c.KVH, c.hd);
    k::attention_decode(dec.data() + 3 * qs, q.data() + 3 * qs, kk.data(), v.data(), 4, 3, c.H,
                        c.KVH, c.hd);
    for (size_t i = 0; i < q.size(); ++i) EXPECT_NEAR(dec[i], out[i], 1e-6);
  });
}

// ---------------------------------------------------------------------------------------
// Embedding

TEST(Kernels, EmbeddingBackwardSumsRepeatedTokens) {
  const int V = 9, D = 5, N = 8;
  std::vector<int32_t> tokens = {3, 1, 3, 8, 0, 3, 1, 5};
  VecF table = random_vec(V * D, 23), dx = random_vec(N * D, 24);
  VecF x(N * D);
  k::embedding_forward(x.data(), k::LinearWeight{.out = V, .in = D, .f32 = table.data()},
                       tokens.data(), N);
  for (int n = 0; n < N; ++n)
    for (int d = 0; d < D; ++d)
      EXPECT_EQ(x[size_t(n * D + d)], table[size_t(tokens[size_t(n)] * D + d)]);
  VecF dt(V * D, 1.0f);
  k::embedding_backward(dt.data(), dx.data(), tokens.data(), N, D, V);
  VecD ref(V * D, 1.0);
  for (int n = 0; n < N; ++n)
    for (int d = 0; d < D; ++d) ref[size_t(tokens[size_t(n)] * D + d)] += dx[size_t(n * D + d)];
  EXPECT_LT(rel_err(dt, ref), 1e-7);
}

// ---------------------------------------------------------------------------------------
// Cross-entropy

TEST(Kernels, CrossEntropyLossAndGradientWithMask) {
  testing::for_each_kernel_isa([&] {
    const int rows = 5, V = 11;
    Batch b;
    b.resize(1, rows);
    b.targets = {3, -1, 10, 0, 7};
    VecF logits = random_vec(rows * V, 25, 4.0);
    logits[2 * V + 10] = 60.0f;  // a large logit: the max subtraction must keep this finite
    const float scale = 0.25f;
    auto ref_loss = [&](const VecD& z) {
      double L = 0;
      for (int r = 0; r < rows; ++r) {
        if (b.targets[size_t(r)] < 0) continue;
        double mx = -INFINITY, s = 0;
        for (int i = 0; i < V; ++i) mx = std::max(mx, z[size_t(r * V + i)]);
        for (int i = 0; i < V; ++i) s += std::exp(z[size_t(r * V + i)] - mx);
        L += mx + std::log(s) - z[size_t(r * V + b.targets[size_t(r)])];
      }
      return L;
    };
    VecD g = fd_grad(ref_loss, to_d(logits));
    for (auto& x : g) x *= scale;
    CrossEntropyLoss ce(b);
    // Process as two chunks (rows 0-1, 2-4) as the model does.
    VecF z = logits;
    LossStats s = ce.process(0, 2, V, z.data(), true, scale);
    s += ce.process(2, 3, V, z.data() + 2 * V, true, scale);
    EXPECT_EQ(s.count, 4);
    EXPECT_NEAR(s.loss_sum, ref_loss(to_d(logits)), 1e-5);
    EXPECT_LT(rel_err(z, g), 1e-5);
    for (int i = 0; i < V; ++i) EXPECT_EQ(z[size_t(V + i)], 0.0f);  // masked row
    // Without gradient the logits stay as they are.
    VecF z2 = logits;
    LossStats s2 = ce.process(0, rows, V, z2.data(), false, 1.0f);
    EXPECT_NEAR(s2.loss_sum, s.loss_sum, 1e-9);
    EXPECT_EQ(z2, logits);
    b.targets[0] = V;  // out of range
    EXPECT_THROW(ce.process(0, rows, V, z2.data(), false, 1.0f), Error);
  });
}

// ---------------------------------------------------------------------------------------
// Thread-count invariance: every split is by rows, columns, heads or vocabulary rows with a
// fixed order inside, so the kernels give the same bits on 1 thread as on several.

TEST(Kernels, SameBitsForAnyThreadCount) {
  testing::for_each_kernel_isa([&] {
    const int B = 2, T = 128, H = 4, KVH = 2, hd = 16, D = 160, V = 50;  // above kParallelMinWork
    const int64_t N = B * T;
    std::vector<int32_t> pos(static_cast<size_t>(N)), tokens(static_cast<size_t>(N));
    for (int64_t i = 0; i < N; ++i) {
      pos[size_t(i)] = int32_t(i % T < 40 ? i % T : i % T - 40);  // a document boundary
      tokens[size_t(i)] = int32_t((i * 7) % V);
    }
    VecF q = random_vec(size_t(N * H * hd), 30), kk = random_vec(size_t(N * KVH * hd), 31),
         v = random_vec(size_t(N * KVH * hd), 32), dout = random_vec(q.size(), 33);
    VecF x = random_vec(size_t(N * D), 34), w = random_vec(size_t(D), 35),
         dy = random_vec(size_t(N * D), 36);
    auto run = [&]() {
      std::vector<VecF> r;
      VecF out(q.size()), lse(size_t(B * H * T)), dq(q.size()), dk(kk.size()), dv(v.size());
      k::attention_forward(out.data(), lse.data(), q.data(), kk.data(), v.data(), pos.data(),
                           {B, T, H, KVH, hd});
      k::attention_backward(dq.data(), dk.data(), dv.data(), dout.data(), out.data(), lse.data(),
                            q.data(), kk.data(), v.data(), pos.data(), {B, T, H, KVH, hd});
      VecF y(x.size()), rstd(static_cast<size_t>(N)), dx(x.size()), dw(size_t(D), 0.0f),
          db(size_t(D), 0.0f);
      k::rmsnorm_forward(y.data(), rstd.data(), x.data(), w.data(), N, D, 1e-5f);
      k::rmsnorm_backward(dx.data(), dw.data(), dy.data(), x.data(), w.data(), rstd.data(), N, D,
                          false);
      k::bias_backward(db.data(), dy.data(), N, D);
      VecF table(size_t(V * D), 0.0f);
      k::embedding_backward(table.data(), dy.data(), tokens.data(), N, D, V);
      return std::vector<VecF>{out, lse, dq, dk, dv, y, dx, dw, db, table};
    };
    const int saved = omp_get_max_threads();
    omp_set_num_threads(1);
    const auto one = run();
    omp_set_num_threads(3);
    const auto three = run();
    omp_set_num_threads(saved);
    for (size_t i = 0; i < one.size(); ++i)
      EXPECT_EQ(0, std::memcmp(one[i].data(), three[i].data(), one[i].size() * sizeof(float)))
          << "result " << i;
  });
}

}  // namespace
}  // namespace still
