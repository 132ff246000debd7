// Gradient accumulation: accum 2 × batch B gives the same update as one batch of 2B (the
// loss is normalised over all scored tokens of the step, not per micro-batch).
#include <gtest/gtest.h>

#include <cmath>

#include "still/data/packing.h"
#include "still/model/llama.h"
#include "still/train/adamw.h"
#include "still/util/rng.h"

namespace still::train {

TEST(TrainAccum, TwoMicroBatchesEqualOneBigBatch) {
  LlamaConfig c = LlamaConfig::preset("tiny");
  c.max_seq = 32;
  // Documents of random bytes with varied lengths, so micro-batches score different counts.
  Rng r(9);
  TokenDocs docs;
  for (int d = 0; d < 40; ++d) {
    std::vector<int32_t> doc(3 + r.below(40));
    for (auto& t : doc) t = int32_t(r.below(256));
    docs.add(doc);
  }
  PackedStream stream(docs, 5);
  const int B = 2, T = 32;
  Batch big, m0, m1;
  make_train_batch(stream, 3, 0, 1, 2 * B, T, big);
  make_train_batch(stream, 3, 0, 2, B, T, m0);
  make_train_batch(stream, 3, 1, 2, B, T, m1);
  ASSERT_EQ(big.num_scored(), m0.num_scored() + m1.num_scored());
  ASSERT_NE(m0.num_scored(), m1.num_scored());
  const float scale = 1.0f / float(big.num_scored());

  LlamaModel one(c), two(c);
  one.init_random(1);
  two.init_random(1);
  one.zero_grads();
  two.zero_grads();
  LossStats l1 = one.forward_backward(big, scale);
  LossStats l2 = two.forward_backward(m0, scale);
  l2 += two.forward_backward(m1, scale);
  EXPECT_NEAR(l1.mean(), l2.mean(), 1e-5 * l1.mean());
  EXPECT_EQ(l1.count, l2.count);

  double diff = 0, norm = 0;
  for (size_t i = 0; i < one.num_params_flat(); ++i) {
    double a = one.grads()[i], b = two.grads()[i];
    diff += (a - b) * (a - b);
    norm += a * a;
  }
  ASSERT_GT(norm, 0);
  EXPECT_LT(std::sqrt(diff / norm), 1e-5);

  // And the AdamW updates agree (by norm: Adam's first step is ~±lr per element, so an
  // element whose gradient is ~0 may flip sign by rounding).
  std::vector<float> p0(one.params(), one.params() + one.num_params_flat());
  AdamW o1(one.layout(), {}), o2(two.layout(), {});
  o1.step(one.params(), one.grads(), 1e-3f);
  o2.step(two.params(), two.grads(), 1e-3f);
  double ud = 0, un = 0;
  for (size_t i = 0; i < p0.size(); ++i) {
    double u1 = double(one.params()[i]) - p0[i], u2 = double(two.params()[i]) - p0[i];
    ud += (u1 - u2) * (u1 - u2);
    un += u1 * u1;
  }
  EXPECT_LT(std::sqrt(ud / un), 1e-2);
}

}  // namespace still::train
