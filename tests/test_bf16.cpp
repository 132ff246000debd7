// The bf16 path (issue #7): fp32 -> bf16 rounding, the oneDNN bf16 matmul against an fp32
// reference computed on the same bf16-rounded inputs, and linear layers whose
// weights carry bf16 packs.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include "isa_paths.h"
#include "skip.h"
#include "still/kernels/bf16.h"
#include "still/kernels/linear.h"
#include "still/kernels/matmul.h"
#include "still/kernels/matmul_bf16.h"
#include "still/kernels/precision.h"
#include "still/tensor/dtype.h"
#include "still/util/error.h"
#include "still/util/rng.h"

namespace still {
namespace {

namespace k = kernels;
using VecF = std::vector<float>;
using Vec16 = std::vector<uint16_t>;

float from_bits(uint32_t u) {
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

VecF random_vec(size_t n, uint64_t seed, double scale = 1.0) {
  Rng r(seed);
  VecF v(n);
  for (auto& x : v) x = float(scale * r.normal());
  return v;
}

Vec16 to_bf16(const VecF& v) {
  Vec16 out(v.size());
  k::f32_to_bf16_scalar(v.data(), out.data(), int64_t(v.size()));
  return out;
}

VecF rounded(const VecF& v) {
  VecF out(v.size());
  for (size_t i = 0; i < v.size(); ++i) out[i] = bf16_to_f32(k::f32_to_bf16_rne(v[i]));
  return out;
}

TEST(Bf16, RoundsToNearestEvenWithNaNInfAndDenormals) {
  struct Case {
    uint32_t in;
    uint16_t out;
  } cases[] = {
      {0x3f800000u, 0x3f80},  // 1
      {0x3f808000u, 0x3f80},  // tie, even below: down
      {0x3f818000u, 0x3f82},  // tie, odd below: up
      {0x3f808001u, 0x3f81},  // above the tie: up
      {0x3f807fffu, 0x3f80},  // below the tie: down
      {0xbf818000u, 0xbf82},  // negative tie
      {0x7f7fffffu, 0x7f80},  // the largest float rounds to +inf
      {0x7f800000u, 0x7f80},  // +inf
      {0xff800000u, 0xff80},  // -inf
      {0x7fc00000u, 0x7fc0},  // quiet NaN
      {0x7f800001u, 0x7fc0},  // signalling NaN: quieted, stays NaN
      {0x00000001u, 0x0000},  // denormals flush to signed zero (as vcvtneps2bf16 does)
      {0x807fffffu, 0x8000}, {0x00800000u, 0x0080},  // the smallest normal stays
  };
  for (const auto& c : cases) EXPECT_EQ(k::f32_to_bf16_rne(from_bits(c.in)), c.out) << c.in;
  // Normal values agree with the converter used for bf16 files.
  VecF v = random_vec(1000, 3, 100.0);
  for (float x : v) EXPECT_EQ(k::f32_to_bf16_rne(x), f32_to_bf16(x));
}

TEST(Bf16, VectorConversionMatchesScalarBitForBit) {
  testing::for_each_kernel_isa([&] {
    // Random values at many scales, every special case above, and lengths that leave
    // vector tails of every size; large enough to take the parallel path too.
    VecF v = random_vec(300001, 5, 1.0);
    Rng r(6);
    for (size_t i = 0; i < v.size(); i += 7) {
      uint32_t bits = uint32_t(r.next_u64());
      v[i] = from_bits(bits);  // any bit pattern: denormals, NaNs, infinities
    }
    for (int64_t n : {int64_t(0), int64_t(1), int64_t(15), int64_t(16), int64_t(17), int64_t(31),
                      int64_t(33), int64_t(1000), int64_t(v.size())}) {
      Vec16 a(size_t(n) + 1, 0xabcd), b(size_t(n) + 1, 0xabcd);
      k::f32_to_bf16(v.data(), a.data(), n);
      k::f32_to_bf16_scalar(v.data(), b.data(), n);
      ASSERT_EQ(a, b) << "n=" << n;
      EXPECT_EQ(a[size_t(n)], 0xabcd) << "wrote past the end, n=" << n;
    }
    // Rows with a stride.
    const int64_t rows = 5, cols = 19, ld = 23;
    Vec16 dense(size_t(rows * cols));
    k::f32_to_bf16_rows(v.data(), ld, dense.data(), rows, cols);
    for (int64_t i = 0; i < rows; ++i)
      for (int64_t j = 0; j < cols; ++j)
        EXPECT_EQ(dense[size_t(i * cols + j)], k::f32_to_bf16_rne(v[size_t(i * ld + j)]));
  });
}

// op(A)·op(B) + beta·C in double on the bf16 values; `bound` gets Σ|a||b| + |beta·c| per entry.
void reference(bool ta, bool tb, int M, int N, int K, const VecF& A, int lda, const VecF& B,
               int ldb, float beta, const VecF& C, int ldc, std::vector<double>& out,
               std::vector<double>& bound) {
  out.assign(size_t(M * N), 0.0);
  bound.assign(size_t(M * N), 0.0);
  for (int i = 0; i < M; ++i)
    for (int j = 0; j < N; ++j) {
      double s = 0, b = 0;
      for (int kk = 0; kk < K; ++kk) {
        const double a = A[size_t(ta ? kk * lda + i : i * lda + kk)];
        const double x = B[size_t(tb ? j * ldb + kk : kk * ldb + j)];
        s += a * x;
        b += std::fabs(a * x);
      }
      const double c = beta == 0 ? 0.0 : double(beta) * C[size_t(i * ldc + j)];
      out[size_t(i * N + j)] = s + c;
      bound[size_t(i * N + j)] = b + std::fabs(c);
    }
}

TEST(Bf16, MatmulMatchesFp32ReferenceOnRoundedInputs) {
  testing::for_each_kernel_isa([&] {
    struct Shape {
      int M, N, K;
    } shapes[] = {{13, 9, 21}, {37, 19, 53}, {1, 7, 5}, {64, 33, 300}, {130, 67, 17}};
    for (const Shape& s : shapes)
      for (int ta = 0; ta < 2; ++ta)
        for (int tb = 0; tb < 2; ++tb)
          for (float beta : {0.0f, 1.0f}) {
            const int M = s.M, N = s.N, K = s.K;
            // Padded strides: the matmul must read and write only the M×N / K entries.
            const int lda = (ta ? M : K) + 3, ldb = (tb ? K : N) + 2, ldc = N + 5;
            VecF A = rounded(random_vec(size_t((ta ? K : M) * lda), 1 + M));
            VecF B = rounded(random_vec(size_t((tb ? N : K) * ldb), 2 + N));
            VecF C = random_vec(size_t(M * ldc), 3);
            if (beta == 0)  // overwritten without being read: NaN must not leak through
              for (int i = 0; i < M; ++i)
                for (int j = 0; j < N; ++j) C[size_t(i * ldc + j)] = NAN;
            std::vector<double> ref, bound;
            reference(ta, tb, M, N, K, A, lda, B, ldb, beta, C, ldc, ref, bound);
            VecF out = C;
            Vec16 A16 = to_bf16(A), B16 = to_bf16(B);
            k::matmul_bf16(ta, tb, M, N, K, A16.data(), lda, B16.data(), ldb, beta, out.data(),
                           ldc);
            for (int i = 0; i < M; ++i) {
              for (int j = 0; j < N; ++j) {
                const double got = out[size_t(i * ldc + j)], want = ref[size_t(i * N + j)];
                // fp32 accumulation of exact bf16 products: a few ulps of the sum of |terms|.
                ASSERT_NEAR(got, want, 1e-6 * K + 2e-6 * bound[size_t(i * N + j)])
                    << "ta=" << ta << " tb=" << tb << " beta=" << beta << " M=" << M << " N=" << N
                    << " K=" << K << " at (" << i << "," << j << ")";
              }
              for (int j = N; j < ldc; ++j)  // the padding of C is untouched
                ASSERT_EQ(out[size_t(i * ldc + j)], C[size_t(i * ldc + j)]);
            }
          }
  });
}

TEST(Bf16, MatmulPrimitivesAreCreatedOncePerShape) {
  testing::for_each_kernel_isa([&] {
    VecF A = random_vec(11 * 6, 1), B = random_vec(6 * 5, 2);
    Vec16 A16 = to_bf16(A), B16 = to_bf16(B);
    VecF C1(11 * 5), C2(11 * 5);
    const int64_t before = k::matmul_bf16_primitives_created();
    const int64_t one = k::cpu_has_avx512_bf16() ? 1 : 0;  // the portable path makes none
    k::matmul_bf16(false, false, 11, 5, 6, A16.data(), 6, B16.data(), 5, 0.0f, C1.data(), 5);
    EXPECT_EQ(k::matmul_bf16_primitives_created(), before + one);
    k::matmul_bf16(false, false, 11, 5, 6, A16.data(), 6, B16.data(), 5, 0.0f, C2.data(), 5);
    EXPECT_EQ(k::matmul_bf16_primitives_created(), before + one);
    EXPECT_EQ(C1, C2);
    k::matmul_bf16(false, false, 11, 5, 6, A16.data(), 6, B16.data(), 5, 1.0f, C2.data(), 5);
    EXPECT_EQ(k::matmul_bf16_primitives_created(), before + 2 * one);  // accumulation: another
    for (size_t i = 0; i < C1.size(); ++i) EXPECT_FLOAT_EQ(C2[i], 2 * C1[i]);
  });
}

TEST(Bf16, LinearLayersWithPacksRoundTheirOperands) {
  testing::for_each_kernel_isa([&] {
    const int N = 23, I = 40, O = 17;
    VecF x = random_vec(size_t(N * I), 1), W = random_vec(size_t(O * I), 2, 0.2);
    VecF b = random_vec(size_t(O), 3), dy = random_vec(size_t(N * O), 4);
    VecF base = random_vec(size_t(N * O), 5);
    // fp32 reference on rounded operands (bias and accumulation stay fp32).
    VecF xr = rounded(x), Wr = rounded(W), dyr = rounded(dy);
    VecF y_ref = base, dx_ref(size_t(N * I), 0.5f), dW_ref = random_vec(size_t(O * I), 6);
    VecF db_ref(size_t(O), 0.25f);
    VecF y = y_ref, dx = dx_ref, dW = dW_ref, db = db_ref;
    k::LinearScratch scratch;
    const k::LinearWeight Wr32{.out = O, .in = I, .f32 = Wr.data()};
    k::linear_forward(y_ref.data(), xr.data(), nullptr, Wr32, b.data(), N, true, scratch);
    k::linear_backward(dx_ref.data(), dW_ref.data(), nullptr, dyr.data(), xr.data(), nullptr, Wr32, N,
                       true, scratch);
    k::bias_backward(db_ref.data(), dy.data(), N, O);  // the bias gradient uses the fp32 dy
    {
      k::Bf16WeightPacks packs;
      const k::LinearWeight W16{.out = O, .in = I, .f32 = W.data(), .bf16 = &packs};
      Vec16 x16(size_t(N * I));
      k::linear_forward(y.data(), x.data(), x16.data(), W16, b.data(), N, true, scratch);
      k::linear_backward(dx.data(), dW.data(), db.data(), dy.data(), x.data(), x16.data(), W16, N,
                         true, scratch);
      EXPECT_GT(packs.bytes(), 0u);
      EXPECT_EQ(x16, to_bf16(x));  // the forward left the bf16 input for its backward
    }
    auto close = [](const VecF& a, const VecF& b, const char* what) {
      for (size_t i = 0; i < a.size(); ++i)
        ASSERT_NEAR(a[i], b[i], 1e-5 * (1 + std::fabs(b[i]))) << what << " at " << i;
    };
    close(y, y_ref, "y");
    close(dx, dx_ref, "dx");
    close(dW, dW_ref, "dW");
    close(db, db_ref, "db");
    // And it really is bf16: unrounded fp32 gives a visibly different y.
    VecF y32 = base;
    k::linear_forward(y32.data(), x.data(), nullptr,
                      k::LinearWeight{.out = O, .in = I, .f32 = W.data()}, b.data(), N, true,
                      scratch);
    double diff = 0;
    for (size_t i = 0; i < y.size(); ++i) diff = std::max(diff, double(std::fabs(y[i] - y32[i])));
    EXPECT_GT(diff, 1e-4);
  });
}

// op(A)·op(W) through the packs equals matmul_bf16 on W rounded by hand.
void expect_weight_matmul(k::Bf16WeightPacks& packs, bool tw, int M, int N, int K, const float* W,
                          int ldw) {
  VecF A = rounded(random_vec(size_t(M * K), 9));
  Vec16 A16 = to_bf16(A);
  const int rows = tw ? N : K, cols = tw ? K : N;
  VecF Wd(size_t(rows * cols));
  for (int r = 0; r < rows; ++r)
    for (int c = 0; c < cols; ++c) Wd[size_t(r * cols + c)] = W[r * ldw + c];
  Vec16 W16 = to_bf16(Wd);
  VecF got(size_t(M * N), 1.0f), want(size_t(M * N), 1.0f);
  packs.matmul(false, tw, M, N, K, A16.data(), K, W, ldw, 1.0f, got.data(), N);
  k::matmul_bf16(false, tw, M, N, K, A16.data(), K, W16.data(), cols, 1.0f, want.data(), N);
  for (size_t i = 0; i < got.size(); ++i)
    ASSERT_NEAR(got[i], want[i], 1e-5 * (1 + std::fabs(want[i]))) << "tw=" << tw << " M=" << M;
}

TEST(Bf16, WeightsArePackedOncePerParameterChange) {
  testing::for_each_kernel_isa([&] {
    VecF params = random_vec(40 * 37 + 50, 1);
    const float* W = params.data() + 50;  // a [40, 37] weight inside the parameters
    k::Bf16WeightPacks packs;
    // Both orientations (forward: Wᵀ, backward: W), several row counts.
    for (int M : {3, 64, 300}) {
      expect_weight_matmul(packs, true, M, 40, 37, W, 37);
      expect_weight_matmul(packs, false, M, 37, 40, W, 37);
    }
    const int64_t made = packs.packs_made();
    EXPECT_GE(made, 2);
    // The backward orientation (W as stored) goes through our packer, not oneDNN's reorder.
    EXPECT_GE(packs.packs_made_by_converter(), 1);
    expect_weight_matmul(packs, true, 64, 40, 37, W, 37);  // packed already: no new pack
    EXPECT_EQ(packs.packs_made(), made);
    // New parameter values are packed again after invalidate() (the model calls it whenever
    // they may have changed).
    for (size_t i = 50; i < params.size(); ++i) params[i] *= -0.5f;
    packs.invalidate();
    expect_weight_matmul(packs, true, 64, 40, 37, W, 37);
    EXPECT_EQ(packs.packs_made(), made + 1);
    // A strided weight (row stride 45) is a pack of its own.
    VecF other = random_vec(40 * 45, 2);
    expect_weight_matmul(packs, true, 17, 40, 37, other.data(), 45);
    EXPECT_EQ(packs.packs_made(), made + 2);
  });
}

// The portable path (STILL_ISA=avx2, or a CPU without AVX512_BF16) against the fast path on the
// same bf16 inputs: the same products, summed in another order, so equal up to fp32 rounding.
TEST(Bf16, PortablePathMatchesFastPath) {
  // Without AVX512_BF16 the fast path never runs here; the portable path is what the other
  // bf16 tests check on such a CPU.
  if (!k::cpu_has_avx512_bf16()) {
    RecordProperty("bf16", "no AVX512_BF16: portable path only");
    return;
  }
  const int M = 37, N = 45, K = 300;
  VecF A = rounded(random_vec(size_t(M * K), 21)), W = random_vec(size_t(K * N), 22);
  Vec16 A16 = to_bf16(A), W16 = to_bf16(W);
  auto run = [&](k::Isa isa) {
    const k::Isa saved = k::kernel_isa();
    k::set_kernel_isa(isa);
    std::vector<VecF> out;
    for (bool tw : {false, true}) {  // W stored as [K, N], or as [N, K] and transposed
      const int ldw = tw ? K : N;
      VecF c(size_t(M * N), 0.5f), p(size_t(M * N), 0.5f);
      k::matmul_bf16(false, tw, M, N, K, A16.data(), K, W16.data(), ldw, 1.0f, c.data(), N);
      k::Bf16WeightPacks packs;
      packs.matmul(false, tw, M, N, K, A16.data(), K, W.data(), ldw, 0.0f, p.data(), N);
      out.push_back(c);
      out.push_back(p);
    }
    k::set_kernel_isa(saved);
    return out;
  };
  const auto fast = run(k::Isa::kAvx512), portable = run(k::Isa::kAvx2);
  for (size_t t = 0; t < fast.size(); ++t)
    for (size_t i = 0; i < fast[t].size(); ++i)
      ASSERT_NEAR(portable[t][i], fast[t][i], 1e-5 * (1 + std::fabs(fast[t][i])))
          << "output " << t << " entry " << i;
}

TEST(Bf16, PrecisionNamesAndCpuCheck) {
  EXPECT_EQ(parse_precision("fp32"), Precision::kFp32);
  EXPECT_EQ(parse_precision("bf16"), Precision::kBf16);
  EXPECT_EQ(precision_name(Precision::kBf16), "bf16");
  EXPECT_THROW(parse_precision("fp16"), Error);
  EXPECT_NO_THROW(require_precision_supported(Precision::kFp32));
  EXPECT_NO_THROW(require_precision_supported(Precision::kBf16));  // the portable path if need be
}

}  // namespace
}  // namespace still
