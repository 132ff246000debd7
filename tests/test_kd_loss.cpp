// KD losses on the top-k ∪ tail support: hand-written gradients against a float64 PyTorch
// reference of the same formulas, against finite differences, and the numerics the issue
// calls out (a confident student's tail mass, ties, padding vocabularies).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>
#include <numeric>

#include "isa_paths.h"
#include "still/io/atomic_file.h"
#include "still/model/kd_loss.h"
#include "still/util/error.h"
#include "still/util/rng.h"
#include "test_helpers.h"

namespace still {
namespace {

struct Case {
  int V, k, teacher_vocab, target;
  std::vector<float> z, logp;
  std::vector<int32_t> ids;
  float log_tail;
  KdOptions opt;
  std::string kind;
};

// A random teacher distribution over teacher_vocab tokens, stored as top-k + tail the way
// `still teach` stores it (sorted by log-prob descending, ties by id).
void make_teacher(Rng& rng, int teacher_vocab, int k, float sharp, Case& c) {
  std::vector<double> logits(static_cast<size_t>(teacher_vocab));
  for (auto& l : logits) l = sharp * rng.normal();
  double m = *std::max_element(logits.begin(), logits.end()), s = 0;
  for (double l : logits) s += std::exp(l - m);
  std::vector<int> order(static_cast<size_t>(teacher_vocab));
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](int a, int b) { return logits[size_t(a)] > logits[size_t(b)]; });
  double top_mass = 0;
  for (int i = 0; i < k; ++i) {
    int id = order[size_t(i)];
    c.ids.push_back(id);
    double lp = logits[size_t(id)] - m - std::log(s);
    c.logp.push_back(float(lp));
    top_mass += std::exp(lp);
  }
  c.log_tail = k < teacher_vocab ? float(std::log1p(-top_mass)) : -INFINITY;
}

std::vector<Case> make_cases() {
  std::vector<Case> cases;
  Rng rng(7);
  const char* kinds[] = {"fkl", "rkl", "jsd:0.3", "ce"};
  int idx = 0;
  for (const char* kind : kinds) {
    for (float tau : {1.0f, 2.0f, 0.7f}) {
      for (float alpha : {1.0f, 0.6f}) {
        Case c;
        c.V = 41;
        c.teacher_vocab = (idx % 3 == 0) ? 38 : 41;  // student has 3 padding rows sometimes
        c.k = (idx % 2) ? 6 : 11;
        c.kind = kind;
        c.opt = KdOptions::parse(kind, alpha, tau);
        make_teacher(rng, c.teacher_vocab, c.k, 1.5f + float(idx % 3), c);
        float scale = (idx % 4 == 3) ? 6.0f : 1.5f;
        for (int j = 0; j < c.V; ++j) c.z.push_back(float(scale * rng.normal()));
        c.target = (idx % 5 == 4) ? -1 : int(rng.below(uint64_t(c.teacher_vocab)));
        cases.push_back(c);
        ++idx;
      }
    }
  }
  return cases;
}

}  // namespace

TEST(KdLoss, MatchesPyTorchReference) {
  testing::for_each_kernel_isa([&] {
    auto cases = make_cases();
    nlohmann::json in = nlohmann::json::array();
    for (auto& c : cases) {
      std::string kind = c.kind.rfind("jsd", 0) == 0 ? "jsd" : c.kind;
      in.push_back({{"z", c.z},
                    {"ids", c.ids},
                    {"logp", c.logp},
                    {"log_tail", c.log_tail},
                    {"k", c.k},
                    {"teacher_vocab", c.teacher_vocab},
                    {"target", c.target},
                    {"temperature", c.opt.temperature},
                    {"alpha", c.opt.alpha},
                    {"kind", kind},
                    {"beta", c.opt.beta}});
    }
    TempDir d;
    write_file_atomic(d.path + "/in.json", in.dump());
    std::string out;
    int rc = run_command("/usr/bin/python3 " + source_dir() + "/tests/torch_ref/kd_ref.py " +
                             d.path + "/in.json " + d.path + "/out.json",
                         &out);
    ASSERT_EQ(rc, 0) << out;
    auto ref = nlohmann::json::parse(read_file(d.path + "/out.json"));
    ASSERT_EQ(ref.size(), cases.size());
    for (size_t i = 0; i < cases.size(); ++i) {
      auto& c = cases[i];
      std::vector<float> dz(static_cast<size_t>(c.V));
      KdRowResult r = kd_row(c.z.data(), c.V, c.ids.data(), c.logp.data(), c.log_tail, c.k,
                             c.teacher_vocab, c.target, c.opt, dz.data(), 1.0f);
      double ref_loss = ref[i]["loss"];
      EXPECT_NEAR(r.loss, ref_loss, 1e-6 * std::max(1.0, std::abs(ref_loss)))
          << "case " << i << " " << c.opt.describe();
      EXPECT_NEAR(r.kl, double(ref[i]["kl"]), 1e-6) << "case " << i;
      EXPECT_NEAR(r.log_tail_q, double(ref[i]["log_tail_q"]), 1e-5) << "case " << i;
      double num = 0, den = 0;
      for (int j = 0; j < c.V; ++j) {
        double g = ref[i]["grad"][size_t(j)];
        num += (dz[size_t(j)] - g) * (dz[size_t(j)] - g);
        den += g * g;
      }
      EXPECT_LE(std::sqrt(num), 1e-5 * std::sqrt(den) + 1e-9)
          << "case " << i << " " << c.opt.describe();
    }
  });
}

TEST(KdLoss, GradientMatchesFiniteDifferences) {
  testing::for_each_kernel_isa([&] {
    for (auto& c : make_cases()) {
      std::vector<float> dz(static_cast<size_t>(c.V));
      kd_row(c.z.data(), c.V, c.ids.data(), c.logp.data(), c.log_tail, c.k, c.teacher_vocab,
             c.target, c.opt, dz.data(), 1.0f);
      for (int j : {0, c.ids[0], c.ids[size_t(c.k - 1)], c.V - 1}) {
        std::vector<float> zp = c.z, zm = c.z;
        const float h = 1e-2f;
        zp[size_t(j)] += h;
        zm[size_t(j)] -= h;
        auto f = [&](std::vector<float>& z) {
          return kd_row(z.data(), c.V, c.ids.data(), c.logp.data(), c.log_tail, c.k,
                        c.teacher_vocab, c.target, c.opt, nullptr, 1.0f)
              .loss;
        };
        double fd = (f(zp) - f(zm)) / (2.0 * h);
        EXPECT_NEAR(dz[size_t(j)], fd, 2e-3 * std::max(1.0, std::abs(fd)))
            << c.opt.describe() << " j=" << j;
      }
    }
  });
}

// A confident student: one top-k logit far above everything else. 1 − Σq is exactly 0 in
// float; the log-sum-exp over the tail keeps the real value.
TEST(KdLoss, ConfidentStudentTailIsExact) {
  testing::for_each_kernel_isa([&] {
    const int V = 1000, k = 4;
    std::vector<float> z(V, 0.0f);
    std::vector<int32_t> ids = {10, 20, 30, 40};
    z[10] = 60.0f;
    std::vector<float> logp = {-0.1f, -3.0f, -4.0f, -5.0f};
    double top = 0;
    for (float l : logp) top += std::exp(double(l));
    float log_tail = float(std::log1p(-top));
    KdRowResult r = kd_row(z.data(), V, ids.data(), logp.data(), log_tail, k, V, -1,
                           KdOptions::parse("fkl", 1, 1), nullptr, 1);
    // Tail: 996 tokens at logit 0 vs one at 60 (+3 at 0): log(996) − log(e^60 + 999).
    double expected = std::log(996.0) - (60.0 + std::log1p(999.0 * std::exp(-60.0)));
    EXPECT_NEAR(r.log_tail_q, expected, 1e-9 * std::abs(expected));
    EXPECT_TRUE(std::isfinite(r.loss));
    EXPECT_TRUE(r.top1_agree);
  });
}

// With the full distribution stored (k = V) FKL equals the exact KL(p‖q).
TEST(KdLoss, FullSupportIsExactKL) {
  testing::for_each_kernel_isa([&] {
    Rng rng(3);
    const int V = 17;
    Case c;
    make_teacher(rng, V, V, 2.0f, c);
    std::vector<float> z(V);
    for (auto& x : z) x = float(rng.normal());
    KdRowResult r = kd_row(z.data(), V, c.ids.data(), c.logp.data(), c.log_tail, V, V, -1,
                           KdOptions::parse("fkl", 1, 1), nullptr, 1);
    double m = *std::max_element(z.begin(), z.end()), s = 0;
    for (float x : z) s += std::exp(x - m);
    double kl = 0;
    for (int i = 0; i < V; ++i) {
      double lq = z[size_t(c.ids[size_t(i)])] - m - std::log(s);
      kl += std::exp(double(c.logp[size_t(i)])) * (c.logp[size_t(i)] - lq);
    }
    EXPECT_NEAR(r.kl, kl, 1e-6);
    EXPECT_NEAR(r.loss, kl, 1e-6);
  });
}

TEST(KdLoss, BatchLossSkipsMaskedRowsAndFallsBackToCE) {
  testing::for_each_kernel_isa([&] {
    // Two rows: one scored with signal, one masked, one scored without signal.
    const int V = 8, k = 2;
    Batch b;
    b.resize(1, 3);
    b.targets = {3, -1, 5};
    std::vector<int32_t> ids = {3, 1, 0, 2, -1, -1};
    std::vector<float> logp = {-0.5f, -1.5f, -0.5f, -1.5f, 0, 0};
    float tail = float(std::log1p(-(std::exp(-0.5) + std::exp(-1.5))));
    std::vector<float> log_tail = {tail, tail, 0};
    TeacherRows t{k, ids.data(), logp.data(), log_tail.data(), V};
    KdLoss loss(b, t, KdOptions::parse("fkl", 1, 1));
    std::vector<float> logits(3 * V);
    Rng rng(1);
    for (auto& x : logits) x = float(rng.normal());
    std::vector<float> z2(logits.begin() + 2 * V, logits.end());
    LossStats st = loss.process(0, 3, V, logits.data(), true, 1.0f);
    EXPECT_EQ(st.count, 2);
    for (int j = 0; j < V; ++j) EXPECT_EQ(logits[size_t(V + j)], 0.0f);  // masked row: no grad
    // Row 2 has no signal: its gradient is softmax − onehot.
    double m = *std::max_element(z2.begin(), z2.end()), s = 0;
    for (float x : z2) s += std::exp(x - m);
    for (int j = 0; j < V; ++j)
      EXPECT_NEAR(logits[size_t(2 * V + j)], std::exp(z2[size_t(j)] - m) / s - (j == 5), 1e-6);
    EXPECT_EQ(loss.metrics().rows, 1);
  });
}

TEST(KdLoss, ParsesLossNamesAndRejectsBadOnes) {
  EXPECT_EQ(KdOptions::parse("jsd:0.25", 1, 1).beta, 0.25f);
  EXPECT_EQ(KdOptions::parse("ce", 1, 1).alpha, 0.0f);
  EXPECT_THROW(KdOptions::parse("kl", 1, 1), Error);
  EXPECT_THROW(KdOptions::parse("jsd:2", 1, 1), Error);
  EXPECT_THROW(KdOptions::parse("fkl", 1.5f, 1), Error);
  EXPECT_THROW(KdOptions::parse("fkl", 1, 0), Error);
}

}  // namespace still

namespace still {

// Teacher 12 rows, student 10 (padding rows 10, 11): entries on padding rows join the tail,
// giving the same loss as a teacher signal that had put that mass in the tail itself.
TEST(KdLoss, PaddingVocabularyRowsFoldIntoTheTail) {
  const int V = 10;
  Batch b;
  b.resize(1, 1);
  b.targets = {2};
  std::vector<int32_t> ids = {2, 11, 4};
  std::vector<float> logp = {-0.5f, -2.5f, -3.0f};
  double top = std::exp(-0.5) + std::exp(-2.5) + std::exp(-3.0);
  std::vector<float> log_tail = {float(std::log1p(-top))};
  std::vector<float> z(V);
  Rng rng(4);
  for (auto& x : z) x = float(rng.normal());
  std::vector<float> z1 = z;
  KdLoss padded(b, TeacherRows{3, ids.data(), logp.data(), log_tail.data(), 12},
                KdOptions::parse("fkl", 1, 1));
  LossStats a = padded.process(0, 1, V, z1.data(), false, 1);
  std::vector<int32_t> ids2 = {2, 4};
  std::vector<float> logp2 = {-0.5f, -3.0f};
  std::vector<float> tail2 = {float(std::log(std::exp(double(log_tail[0])) + std::exp(-2.5)))};
  KdRowResult r = kd_row(z.data(), V, ids2.data(), logp2.data(), tail2[0], 2, V, 2,
                         KdOptions::parse("fkl", 1, 1), nullptr, 1);
  EXPECT_NEAR(a.loss_sum, r.loss, 1e-6);
}

}  // namespace still
