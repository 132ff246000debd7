// Distillation data and loss plumbing: the signal stream and KD through the engine.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <set>

#include "still/formats/tokenizer/tokenizer.h"
#include "still/io/atomic_file.h"
#include "still/teach/teach.h"
#include "still/train/signal_stream.h"
#include "test_helpers.h"

namespace still {
namespace {

// A small signal from a random tiny teacher over a synthetic corpus.
std::string make_signal(const std::string& dir, int k = 8) {
  std::string text;
  for (int d = 0; d < 30; ++d) {
    for (int l = 0; l < 2; ++l) text += "doc " + std::to_string(d) + " line " + std::to_string(l) + " of text\n";
    text += "\n";
  }
  write_file_atomic(dir + "/c.txt", text);
  LlamaConfig c = LlamaConfig::preset("tiny");
  c.max_seq = 16;
  LlamaModel model(c);
  model.init_random(2);
  ByteTokenizer tok;
  TeacherHandle th{&model, &tok, "tiny", "", "x"};
  TeachOptions opt;
  opt.data = dir + "/c.txt";
  opt.out = dir + "/sig";
  opt.k = k;
  opt.windows_per_shard = 16;
  run_teach(opt, th);
  return opt.out;
}

}  // namespace

TEST(SignalStream, HeldOutNeverTrainedAndOrderDependsOnlyOnSeedAndStep) {
  TempDir d;
  SignalDir sig(make_signal(d.path));
  train::SignalStream a(sig, 5, 0.1), b(sig, 5, 0.1), other(sig, 6, 0.1);
  ASSERT_GT(a.num_heldout(), 0);
  std::set<int64_t> heldout(a.heldout_windows().begin(), a.heldout_windows().end());
  std::set<int64_t> seen;
  Batch x, y, z;
  TeacherBuffers tx, ty, tz;
  bool any_diff = false;
  // Several epochs' worth of steps: no held-out window ever shows up.
  int64_t steps = 3 * a.num_train() / 4 + 2;
  for (int64_t s = steps - 1; s >= 0; --s) {  // reverse order: no dependence on history
    a.fill_step(s, 0, 1, 4, x, tx);
    b.fill_step(s, 0, 1, 4, y, ty);
    other.fill_step(s, 0, 1, 4, z, tz);
    EXPECT_EQ(x.tokens, y.tokens);
    EXPECT_EQ(tx.logp, ty.logp);
    any_diff |= x.tokens != z.tokens;
    for (int64_t w : a.step_windows(s, 0, 1, 4)) {
      EXPECT_EQ(heldout.count(w), 0u) << "held-out window " << w << " trained at step " << s;
      seen.insert(w);
    }
  }
  EXPECT_EQ(int64_t(seen.size()), a.num_train()) << "an epoch must visit every training window";
  EXPECT_TRUE(any_diff) << "the seed does not change the order";
  // Accumulation sees the same rows as a bigger batch.
  Batch big, m0, m1;
  TeacherBuffers tb, t0, t1;
  a.fill_step(3, 0, 1, 8, big, tb);
  a.fill_step(3, 0, 2, 4, m0, t0);
  a.fill_step(3, 1, 2, 4, m1, t1);
  std::vector<int32_t> joined = m0.tokens;
  joined.insert(joined.end(), m1.tokens.begin(), m1.tokens.end());
  EXPECT_EQ(joined, big.tokens);
}

}  // namespace still
