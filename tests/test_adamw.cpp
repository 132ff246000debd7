// AdamW over the flat buffer: decay exactly on the tensors marked for it (packed q/k/v and
// gate/up, tied embeddings, odd sizes), the folded clip factor gives the same bits as
// clipping the gradients first, and the bits do not depend on the thread count.
#include <gtest/gtest.h>
#include <omp.h>

#include <cmath>
#include <cstring>
#include <vector>

#include "isa_paths.h"
#include "llama_test_helpers.h"
#include "still/train/adamw.h"
#include "still/train/schedule.h"
#include "still/util/rng.h"

namespace still {
namespace {

struct State {
  std::vector<float> p, g;
};

State random_state(size_t n, uint64_t seed) {
  Rng r(seed);
  State s;
  s.p.resize(n);
  s.g.resize(n);
  for (auto& x : s.p) x = float(r.normal());
  for (auto& x : s.g) x = float(0.1 * r.normal());
  return s;
}

LlamaConfig odd_tied_config() {
  testing::Variant v{.name = "odd",
                     .dim = 18,
                     .n_heads = 3,
                     .n_kv_heads = 1,
                     .head_dim = 6,
                     .ffn_dim = 27,
                     .vocab = 29,
                     .tied = true,
                     .qkv_bias = true};
  return testing::make_config(v);
}

TEST(AdamW, DecaysExactlyTheMarkedTensors) {
  testing::for_each_kernel_isa([&] {
    const ParamLayout lay(odd_tied_config());
    const AdamWConfig cfg;  // weight decay 0.1
    State s = random_state(lay.total(), 1);
    std::vector<float> p0 = s.p;
    AdamW opt(lay, cfg);
    const float lr = 0.01f;
    opt.step(s.p.data(), s.g.data(), lr);
    // Reference: the textbook update per element, decay by the tensor's flag.
    std::vector<int> decay(lay.total(), -1);  // -1: padding (no tensor)
    for (auto& t : lay.tensors())
      for (size_t i = 0; i < t.numel; ++i) decay[t.offset + i] = t.weight_decay ? 1 : 0;
    const float bc1 = 1 - cfg.beta1, bc2 = 1 - cfg.beta2;
    for (size_t i = 0; i < lay.total(); ++i) {
      const double g = s.g[i], m = (1 - cfg.beta1) * g, v = (1 - cfg.beta2) * g * g;
      double p = p0[i];
      if (decay[i] == 1) p -= double(lr) * cfg.weight_decay * p;
      p -= lr * (m / bc1) / (std::sqrt(v / bc2) + cfg.eps);
      ASSERT_NEAR(s.p[i], p, 2e-6 * std::max(1.0, std::abs(p))) << "element " << i;
    }
    // The layout marks what the reference relies on.
    const ParamInfo* wq = lay.find("model.layers.0.self_attn.q_proj.weight");
    const ParamInfo* bq = lay.find("model.layers.0.self_attn.q_proj.bias");
    ASSERT_TRUE(wq && bq && wq->weight_decay && !bq->weight_decay);
  });
}

TEST(AdamW, FoldedClipFactorEqualsClippingFirst) {
  const ParamLayout lay(odd_tied_config());
  State a = random_state(lay.total(), 2), b = a;
  AdamW oa(lay, {}), ob(lay, {});
  for (int step = 0; step < 3; ++step) {
    const double norm = 7.5 + step;  // any norm above max_norm clips
    const float f = train::clip_factor(norm, 1.0);
    ASSERT_LT(f, 1.0f);
    oa.step(a.p.data(), a.g.data(), 1e-3f, f);
    train::clip_grads(b.g.data(), b.g.size(), norm, 1.0);
    ob.step(b.p.data(), b.g.data(), 1e-3f);
    b.g = a.g;  // the next step sees the same unclipped gradient
  }
  EXPECT_EQ(0, std::memcmp(a.p.data(), b.p.data(), a.p.size() * sizeof(float)));
  EXPECT_EQ(0, std::memcmp(oa.m().data(), ob.m().data(), oa.m().size() * sizeof(float)));
  EXPECT_EQ(0, std::memcmp(oa.v().data(), ob.v().data(), oa.v().size() * sizeof(float)));
}

TEST(AdamW, SameBitsForAnyThreadCount) {
  testing::for_each_kernel_isa([&] {
    // Big enough for many blocks of the parallel loop, with decay runs crossing block edges.
    testing::Variant v{.name = "wide",
                       .dim = 96,
                       .n_layers = 3,
                       .n_heads = 4,
                       .n_kv_heads = 2,
                       .head_dim = 24,
                       .ffn_dim = 250,
                       .vocab = 301};
    const ParamLayout lay(testing::make_config(v));
    std::vector<std::vector<float>> out;
    const int saved = omp_get_max_threads();
    for (int threads : {1, 2, 3}) {
      omp_set_num_threads(threads);
      State s = random_state(lay.total(), 3);
      AdamW opt(lay, {});
      for (int step = 0; step < 2; ++step) opt.step(s.p.data(), s.g.data(), 1e-3f, 0.5f);
      out.push_back(s.p);
    }
    omp_set_num_threads(saved);
    EXPECT_EQ(out[0], out[1]);
    EXPECT_EQ(out[0], out[2]);
  });
}

}  // namespace
}  // namespace still
