// The bf16 training path end to end in the engine: a bf16 step is close to the fp32 step
// (loss, gradients), the bf16 weight copy is made once per optimizer step, and a small
// model trained 200 steps in bf16 follows the fp32 loss curve within a stated tolerance
// (docs/benchmarks.md quotes it).
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <vector>

#include "isa_paths.h"
#include "llama_test_helpers.h"
#include "skip.h"
#include "still/data/packing.h"
#include "still/kernels/bf16.h"
#include "still/model/llama.h"
#include "still/train/adamw.h"
#include "still/train/schedule.h"
#include "test_train_helpers.h"

namespace still {
namespace {

double rel_diff(const float* a, const float* b, size_t n) {
  double num = 0, den = 0;
  for (size_t i = 0; i < n; ++i) {
    num += (double(a[i]) - b[i]) * (double(a[i]) - b[i]);
    den += double(b[i]) * b[i];
  }
  return std::sqrt(num / std::max(den, 1e-300));
}

TEST(Bf16Model, StepIsCloseToFp32ForEveryVariant) {
  testing::for_each_kernel_isa([&] {
    std::vector<testing::Variant> variants(4);
    variants[1].tied = true;
    variants[2].qkv_bias = true;
    variants[2].n_kv_heads = 2;
    variants[3].qk_norm = true;
    for (const auto& v : variants) {
      const LlamaConfig c = testing::make_config(v);
      const Batch b = testing::make_batch(3, 20, c.vocab_size, 7);
      LlamaModel f(c), h(c);
      testing::init_wide(f, 3);
      testing::init_wide(h, 3);
      h.set_precision(Precision::kBf16);
      EXPECT_EQ(h.precision(), Precision::kBf16);
      f.set_loss_chunk_rows(16);  // several LM-head chunks
      h.set_loss_chunk_rows(16);
      f.zero_grads();
      h.zero_grads();
      const float scale = 1.0f / float(b.num_scored());
      const LossStats lf = f.forward_backward(b, scale), lh = h.forward_backward(b, scale);
      EXPECT_NEAR(lh.mean(), lf.mean(), 5e-3 * lf.mean());
      const double g = rel_diff(h.grads(), f.grads(), f.num_params_flat());
      EXPECT_LT(g, 3e-2) << "gradients";
      EXPECT_GT(g, 1e-5) << "gradients are fp32's: the bf16 path did not run";
      std::vector<float> lo_f(size_t(b.B * b.T) * size_t(c.vocab_size)), lo_h(lo_f.size());
      f.forward_logits(b, lo_f.data());
      h.forward_logits(b, lo_h.data());
      EXPECT_LT(rel_diff(lo_h.data(), lo_f.data(), lo_f.size()), 2e-2);
      EXPECT_NEAR(h.forward_loss(b).mean(), lh.mean(), 1e-5 * lh.mean());  // same as the step's
    }
  });
}

TEST(Bf16Model, WeightCopyIsMadeOncePerOptimizerStep) {
  testing::for_each_kernel_isa([&] {
    const LlamaConfig c = testing::make_config({});
    const Batch b = testing::make_batch(2, 12, c.vocab_size, 7);
    LlamaModel m(c);
    m.init_random(1);
    m.set_precision(Precision::kBf16);
    AdamW opt(m.layout(), {});
    EXPECT_EQ(m.bf16_weight_refreshes(), 0);
    for (int step = 1; step <= 3; ++step) {
      m.zero_grads();
      m.forward_backward(b, 0.01f);  // two micro-batches: one copy
      m.forward_backward(b, 0.01f);
      EXPECT_EQ(m.bf16_weight_refreshes(), step);
      opt.step(m.params(), m.grads(), 1e-3f);
    }
    // The copy follows the update: the loss after a step matches a fresh bf16 model loaded
    // with the same weights.
    LlamaModel fresh(c);
    fresh.set_precision(Precision::kBf16);
    std::copy(m.params(), m.params() + m.num_params_flat(), fresh.params());
    EXPECT_EQ(m.forward_loss(b).loss_sum, fresh.forward_loss(b).loss_sum);
    // Back to fp32: exactly the fp32 engine again.
    LlamaModel f32(c);
    std::copy(m.params(), m.params() + m.num_params_flat(), f32.params());
    m.set_precision(Precision::kFp32);
    EXPECT_EQ(m.forward_loss(b).loss_sum, f32.forward_loss(b).loss_sum);
  });
}

// Losses of `steps` AdamW steps (warmup + cosine, clipping) of the tiny preset on byte
// tokens of the synthetic corpus, from seed 1.
std::vector<double> train_losses(Precision p, int steps) {
  LlamaConfig c = LlamaConfig::preset("tiny");
  c.max_seq = 64;
  const std::string text = synthetic_corpus(300);
  train::TokenDocs docs;
  std::vector<int32_t> doc;
  for (size_t i = 0; i < text.size(); ++i) {
    doc.push_back(int32_t(uint8_t(text[i])));
    if (text[i] == '\n' && i + 1 < text.size() && text[i + 1] == '\n') {
      docs.add(doc);
      doc.clear();
    }
  }
  train::PackedStream stream(docs, 5);
  LlamaModel m(c);
  m.init_random(1);
  m.set_precision(p);
  AdamW opt(m.layout(), {});
  train::LrSchedule lr{3e-3, 3e-4, 10, steps};
  std::vector<double> losses;
  Batch b;
  for (int s = 0; s < steps; ++s) {
    train::make_train_batch(stream, s, 0, 1, 8, 64, b);
    m.zero_grads();
    losses.push_back(m.forward_backward(b, 1.0f / float(b.num_scored())).mean());
    const double norm = global_grad_norm(m.grads(), m.num_params_flat());
    train::clip_grads(m.grads(), m.num_params_flat(), norm, 1.0);
    opt.step(m.params(), m.grads(), float(lr.at(s)));
  }
  return losses;
}

// The stated tolerance (docs/benchmarks.md). Rounding anywhere (even the forward alone)
// moves the steep part of the curve by a step or two, so per-step losses there differ by up
// to ~0.08 nats/token (~9% over a 10-step window) before the curves meet again. So: every step
// within 0.15 nats/token of fp32's, every 10-step mean within 12%, the mean of the last 20
// steps within 0.01, and the run learns (final loss under a tenth of the first).
TEST(Bf16Model, TrainsLikeFp32For200Steps) {
  testing::for_each_kernel_isa([&] {
    const int steps = 200;
    const auto f = train_losses(Precision::kFp32, steps), h = train_losses(Precision::kBf16, steps);
    double worst = 0, worst_window = 0, tail_f = 0, tail_h = 0;
    for (int s = 0; s < steps; ++s) {
      worst = std::max(worst, std::fabs(f[size_t(s)] - h[size_t(s)]));
      if (s >= steps - 20) tail_f += f[size_t(s)] / 20, tail_h += h[size_t(s)] / 20;
    }
    for (int w = 0; w < steps; w += 10) {
      double wf = 0, wh = 0;
      for (int s = w; s < w + 10; ++s) wf += f[size_t(s)], wh += h[size_t(s)];
      worst_window = std::max(worst_window, std::fabs(wh - wf) / wf);
    }
    std::printf(
        "[Bf16] loss fp32 %.4f -> %.4f, bf16 %.4f -> %.4f; worst step |diff| %.4f, worst "
        "10-step window %.1f%%, last-20 mean fp32 %.4f bf16 %.4f\n",
        f[0], f.back(), h[0], h.back(), worst, 100 * worst_window, tail_f, tail_h);
    EXPECT_LT(f.back(), 0.1 * f[0]) << "the model did not learn: the test proves nothing";
    EXPECT_LT(h.back(), 0.1 * h[0]);
    EXPECT_LT(worst, 0.15);
    EXPECT_LT(worst_window, 0.12);
    EXPECT_NEAR(tail_h, tail_f, 0.01);
  });
}

}  // namespace
}  // namespace still
