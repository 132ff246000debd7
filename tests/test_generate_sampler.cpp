// The sampler (greedy, top-k, top-p, seeded draws) and UTF-8 streaming.
#include <gtest/gtest.h>

#include <map>
#include <vector>

#include "still/generate/sampler.h"
#include "still/util/error.h"

namespace still {

TEST(Sampler, GreedyIsArgmax) {
  std::vector<float> l = {0.1f, 2.5f, -1.0f, 2.5f, 0.3f};
  Rng rng(1);
  SamplerOptions greedy{0.0f, 0, 1.0f};
  EXPECT_EQ(sample_token(l.data(), 5, greedy, rng), 1);  // first of the tied maxima
  // top-k = 1 is greedy whatever the temperature.
  SamplerOptions k1{1.5f, 1, 1.0f};
  for (int i = 0; i < 20; ++i) EXPECT_EQ(sample_token(l.data(), 5, k1, rng), 1);
  // Greedy draws no random numbers.
  Rng a(9), b(9);
  sample_token(l.data(), 5, greedy, a);
  EXPECT_EQ(a.next_u64(), b.next_u64());
}

TEST(Sampler, SeededDrawsRepeat) {
  std::vector<float> l(50);
  for (int i = 0; i < 50; ++i) l[i] = float(i % 7) * 0.3f;
  SamplerOptions opt{1.0f, 0, 1.0f};
  Rng a(123), b(123), c(124);
  std::vector<int32_t> x, y, z;
  for (int i = 0; i < 100; ++i) {
    x.push_back(sample_token(l.data(), 50, opt, a));
    y.push_back(sample_token(l.data(), 50, opt, b));
    z.push_back(sample_token(l.data(), 50, opt, c));
  }
  EXPECT_EQ(x, y);
  EXPECT_NE(x, z);
}

TEST(Sampler, FrequenciesFollowTheSoftmax) {
  // p = softmax(log([0.5, 0.3, 0.2])) at temperature 1.
  std::vector<float> l = {std::log(0.5f), std::log(0.3f), std::log(0.2f)};
  Rng rng(5);
  std::map<int, int> count;
  const int n = 20000;
  for (int i = 0; i < n; ++i) ++count[sample_token(l.data(), 3, {1.0f, 0, 1.0f}, rng)];
  EXPECT_NEAR(count[0] / double(n), 0.5, 0.02);
  EXPECT_NEAR(count[1] / double(n), 0.3, 0.02);
  EXPECT_NEAR(count[2] / double(n), 0.2, 0.02);
}

TEST(Sampler, TopKAndTopPKeepOnlyTheirSets) {
  // Probabilities 0.4, 0.3, 0.2, 0.1 (ids shuffled).
  std::vector<float> l = {std::log(0.2f), std::log(0.4f), std::log(0.1f), std::log(0.3f)};
  Rng rng(11);
  std::map<int, int> k2, p65, p75;
  for (int i = 0; i < 5000; ++i) {
    ++k2[sample_token(l.data(), 4, {1.0f, 2, 1.0f}, rng)];
    ++p65[sample_token(l.data(), 4, {1.0f, 0, 0.65f}, rng)];
    ++p75[sample_token(l.data(), 4, {1.0f, 0, 0.75f}, rng)];
  }
  // top-k 2: only ids 1 and 3, in ratio 4:3.
  EXPECT_EQ(k2.size(), 2u);
  EXPECT_NEAR(k2[1] / 5000.0, 4.0 / 7.0, 0.03);
  // top-p 0.65: the nucleus is {0.4, 0.3}; top-p 0.75 adds 0.2.
  EXPECT_EQ(p65.size(), 2u);
  EXPECT_GT(p65[3], 0);
  EXPECT_EQ(p75.size(), 3u);
  EXPECT_EQ(p75.count(2), 0u);
  // A very small top-p keeps just the most likely token.
  for (int i = 0; i < 50; ++i) EXPECT_EQ(sample_token(l.data(), 4, {2.0f, 0, 0.01f}, rng), 1);
}

TEST(Sampler, RejectsBadOptions) {
  EXPECT_THROW(validate({-1.0f, 0, 1.0f}), Error);
  EXPECT_THROW(validate({1.0f, 0, 0.0f}), Error);
  EXPECT_THROW(validate({1.0f, 0, 1.5f}), Error);
  EXPECT_THROW(validate({1.0f, -3, 1.0f}), Error);
  EXPECT_NO_THROW(validate({0.0f, 40, 0.9f}));
}

TEST(Utf8Stream, NeverSplitsACharacter) {
  // "é" = C3 A9, "€" = E2 82 AC, "😀" = F0 9F 98 80, fed one byte at a time.
  std::string text = "a\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80z";
  Utf8Stream s;
  std::string out;
  std::vector<std::string> pieces;
  for (char c : text) {
    std::string piece = s.push(std::string(1, c));
    if (!piece.empty()) pieces.push_back(piece);
    out += piece;
  }
  out += s.finish();
  EXPECT_EQ(out, text);
  EXPECT_EQ(pieces,
            (std::vector<std::string>{"a", "\xC3\xA9", "\xE2\x82\xAC", "\xF0\x9F\x98\x80", "z"}));
  // Invalid bytes are passed through rather than held forever.
  Utf8Stream t;
  EXPECT_EQ(t.push("\xFF"), "\xFF");
  EXPECT_EQ(t.push("\x80x"), "\x80x");
}

}  // namespace still
