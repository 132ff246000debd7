// Perplexity, multiple choice and agreement against direct computations on an analytic
// bigram model (the Llama engine is checked against PyTorch in test_eval_torch.cpp).
#include <gtest/gtest.h>

#include <cmath>

#include "still/eval/tasks.h"
#include "still/util/rng.h"

namespace still::eval {
namespace {

// logits(next | token) = table[token]; position only shifts every logit (no effect on p).
class BigramScorer : public LmScorer {
 public:
  BigramScorer(int V, uint64_t seed, int max_seq)
      : V_(V), max_seq_(max_seq), table_(size_t(V) * V) {
    uint64_t s = seed;
    for (auto& x : table_) x = float(double(splitmix64(s) >> 11) * 0x1.0p-53 * 4.0 - 2.0);
  }
  int vocab_size() const override { return V_; }
  int max_seq() const override { return max_seq_; }
  LossStats run(const Batch& b, LogitLoss& probe) override {
    EXPECT_LE(b.T, max_seq_);
    std::vector<float> chunk(size_t(V_) * 3);
    LossStats total;
    // Feed rows in chunks of 3 to exercise row0 handling.
    for (int64_t r0 = 0; r0 < int64_t(b.B) * b.T; r0 += 3) {
      int n = int(std::min<int64_t>(3, int64_t(b.B) * b.T - r0));
      for (int i = 0; i < n; ++i)
        for (int v = 0; v < V_; ++v)
          chunk[size_t(i) * V_ + v] = table_[size_t(b.tokens[size_t(r0 + i)]) * V_ + v] +
                                      0.5f * float(b.positions[size_t(r0 + i)]);
      total += probe.process(r0, n, V_, chunk.data(), false, 1.f);
    }
    return total;
  }
  double logp(int32_t a, int32_t b) const {
    double m = -1e30, s = 0;
    for (int v = 0; v < V_; ++v) m = std::max(m, double(table_[size_t(a) * V_ + v]));
    for (int v = 0; v < V_; ++v) s += std::exp(double(table_[size_t(a) * V_ + v]) - m);
    return double(table_[size_t(a) * V_ + b]) - m - std::log(s);
  }
  const float* row(int32_t a) const { return table_.data() + size_t(a) * V_; }

 private:
  int V_, max_seq_;
  std::vector<float> table_;
};

SuiteTask text_task(const std::string& content) {
  SuiteTask t;
  t.name = "text";
  t.format = "text";
  t.content = content;
  t.resolved_path = "mem.txt";
  return t;
}

TEST(EvalTasks, PerplexityEqualsDirectSumOverDocumentPairs) {
  ByteTokenizer tok;
  BigramScorer model(256, 7, 16);
  // Documents longer than the 16-token window, so rows split them.
  std::string a = "the quick brown fox jumps over the lazy dog\n";
  std::string b = "pack my box with five dozen liquor jugs\nsecond line\n";
  SuiteTask task = text_task(a + "\n" + b);
  Calibration calib;
  Agreement agree;
  TaskOptions opt;
  opt.batch_rows = 3;
  auto s = score_perplexity(model, tok, task, opt, nullptr, calib, agree);
  double expected = 0;
  int64_t pairs = 0;
  for (const std::string& d : {a, b})
    for (size_t i = 0; i + 1 < d.size(); ++i, ++pairs)
      expected -= model.logp(uint8_t(d[i]), uint8_t(d[i + 1]));
  EXPECT_EQ(s.docs, 2);
  EXPECT_EQ(s.tokens, pairs);  // no pair crosses a document boundary
  EXPECT_EQ(s.bytes, int64_t(a.size() + b.size()));
  EXPECT_NEAR(s.nats, expected, 1e-6 * std::fabs(expected));
  EXPECT_NEAR(s.ppl(), std::exp(expected / double(pairs)), 1e-6 * s.ppl());
  EXPECT_EQ(calib.total(), pairs);
  EXPECT_EQ(agree.positions, 0);
  // --limit 1: only the first document.
  opt.limit = 1;
  Calibration c2;
  auto s1 = score_perplexity(model, tok, task, opt, nullptr, c2, agree);
  EXPECT_EQ(s1.tokens, int64_t(a.size() - 1));
}

TEST(EvalTasks, AgreementWithItselfIsPerfectAndWithAnotherMatchesDirectKl) {
  ByteTokenizer tok;
  BigramScorer student(256, 7, 32), teacher(256, 99, 32);
  SuiteTask task = text_task("abcabcabd\n\nhello there\n");
  TaskOptions opt;
  Calibration calib;
  Agreement self;
  score_perplexity(student, tok, task, opt, &student, calib, self);
  EXPECT_GT(self.positions, 0);
  EXPECT_EQ(self.top1_matches, self.positions);
  EXPECT_NEAR(self.mean_kl(), 0.0, 1e-6);

  Agreement other;
  Calibration c2;
  score_perplexity(student, tok, task, opt, &teacher, c2, other);
  double kl = 0;
  int64_t n = 0, match = 0;
  for (const std::string d : {"abcabcabd\n", "hello there\n"})
    for (size_t i = 0; i + 1 < d.size(); ++i, ++n) {
      int32_t a = uint8_t(d[i]);
      int ts = 0, ss = 0;
      for (int v = 0; v < 256; ++v) {
        double pt = std::exp(teacher.logp(a, v));
        kl += pt * (teacher.logp(a, v) - student.logp(a, v));
        if (teacher.row(a)[v] > teacher.row(a)[ts]) ts = v;
        if (student.row(a)[v] > student.row(a)[ss]) ss = v;
      }
      match += ts == ss;
    }
  EXPECT_EQ(other.positions, n);
  EXPECT_EQ(other.top1_matches, match);
  EXPECT_NEAR(other.mean_kl(), kl / double(n), 1e-6 * kl / double(n));
  EXPECT_GT(other.mean_kl(), 0.01);
}

TEST(EvalTasks, CalibrationErrorOfKnownBins) {
  Calibration c;
  // Bin [0.8, 0.867): confidence 0.85 ×4, 2 correct -> |2 - 3.4| / 4.
  for (int i = 0; i < 4; ++i) c.add(0.85, i < 2);
  EXPECT_NEAR(c.ece(), 1.4 / 4, 1e-12);
  Calibration perfect;
  perfect.add(1.0, true);
  perfect.add(1.0, true);
  EXPECT_NEAR(perfect.ece(), 0.0, 1e-12);
}

TEST(EvalTasks, MultipleChoiceScoresOnlyEndingTokensAndNormalisesByBytes) {
  ByteTokenizer tok;
  BigramScorer model(256, 3, 64);
  std::vector<McItem> items;
  for (int i = 0; i < 5; ++i) {
    McItem it;
    it.context = "Cooking: A man stirs " + std::string(size_t(i), 'x') + ". he";
    it.endings = {"adds salt.", "eats the spoon and leaves", "ok", "sings"};
    it.label = i % 4;
    items.push_back(it);
  }
  TaskOptions opt;
  opt.mc_items = 2;
  McScore s = score_multiple_choice(model, tok, items, opt);
  ASSERT_EQ(s.items, 5);
  int64_t correct = 0, correct_norm = 0;
  for (size_t i = 0; i < items.size(); ++i) {
    std::string ctx = items[i].context;
    int best = 0, best_n = 0;
    std::vector<double> lp, ln;
    for (size_t k = 0; k < 4; ++k) {
      std::string whole = ctx + " " + items[i].endings[k];
      double sum = 0;
      for (size_t p = ctx.size(); p < whole.size(); ++p)
        sum += model.logp(uint8_t(whole[p - 1]), uint8_t(whole[p]));
      lp.push_back(sum);
      ln.push_back(sum / double(items[i].endings[k].size()));
      EXPECT_NEAR(s.logprobs[i][k], sum, 1e-6 * std::fabs(sum)) << i << " " << k;
      if (lp[k] > lp[size_t(best)]) best = int(k);
      if (ln[k] > ln[size_t(best_n)]) best_n = int(k);
    }
    correct += best == items[i].label;
    correct_norm += best_n == items[i].label;
  }
  EXPECT_EQ(s.correct, correct);
  EXPECT_EQ(s.correct_norm, correct_norm);
  // The space and the ending are scored: pair tokens of "ctx" + " ok" score 3 tokens.
  auto [seq, n_cont] = mc_pair_tokens(tok, "ab", "ok");
  EXPECT_EQ(n_cont, 3);
  EXPECT_EQ(seq.size(), 5u);
}

TEST(EvalTasks, EndingsLongerThanTheWindowAreScoredInChunksOnce) {
  ByteTokenizer tok;
  BigramScorer model(256, 5, 16);
  McItem it;
  it.context = "A long context that does not fit in sixteen tokens. he";
  it.endings = {"walks a very long way down the road to town today", "ok", "sits.", "runs"};
  it.label = 0;
  McScore s = score_multiple_choice(model, tok, {it}, TaskOptions{});
  for (size_t k = 0; k < 4; ++k) {
    // A bigram model ignores older context, so chunking must reproduce the full sum.
    std::string whole = it.context + " " + it.endings[k];
    double sum = 0;
    for (size_t p = it.context.size(); p < whole.size(); ++p)
      sum += model.logp(uint8_t(whole[p - 1]), uint8_t(whole[p]));
    EXPECT_NEAR(s.logprobs[0][k], sum, 1e-6 * std::fabs(sum)) << k;
  }
}

}  // namespace
}  // namespace still::eval
