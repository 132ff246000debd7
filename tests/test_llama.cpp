// LlamaModel end to end without PyTorch: gradients against finite differences of the
// model's own loss, determinism, chunked LM head, decode() against forward_logits,
// convergence on a copy task, and rejection of bad batches.
#include <gtest/gtest.h>

#include <array>
#include <cmath>
#include <cstring>
#include <vector>

#include "llama_test_helpers.h"
#include "still/model/llama.h"
#include "still/train/adamw.h"
#include "still/util/error.h"

namespace still {
namespace {

using testing::init_wide;
using testing::make_batch;
using testing::make_config;
using testing::Variant;

// For every tensor: the directional derivative along a random direction by central
// differences of forward_loss, against grads()·direction from forward_backward.
void check_gradients_by_differences(const Variant& v) {
  SCOPED_TRACE(v.name);
  LlamaModel m(make_config(v));
  init_wide(m, 1);
  m.set_loss_chunk_rows(7);  // fewer rows than B*T: the fused LM head runs in chunks
  Batch b = make_batch(2, 16, v.vocab, 2);
  const float scale = 1.0f / float(b.num_scored());
  m.zero_grads();
  m.forward_backward(b, scale);
  std::vector<float> g(m.grads(), m.grads() + m.num_params_flat());
  Rng rng(3);
  for (auto& t : m.layout().tensors()) {
    std::vector<float> u(t.numel);
    for (auto& x : u) x = float(rng.normal());
    double analytic = 0;
    for (size_t i = 0; i < t.numel; ++i) analytic += double(g[t.offset + i]) * u[i];
    const double eps = 1e-3;  // perturbation ε·u has norm ~ε·sqrt(numel): keep ε small
    std::vector<float> saved(m.params() + t.offset, m.params() + t.offset + t.numel);
    auto loss_at = [&](double s) {
      for (size_t i = 0; i < t.numel; ++i) m.params()[t.offset + i] = float(saved[i] + s * u[i]);
      return m.forward_loss(b).loss_sum * scale;
    };
    // Fourth-order central difference: truncation error O(eps^4).
    const double numeric =
        (-loss_at(2 * eps) + 8 * loss_at(eps) - 8 * loss_at(-eps) + loss_at(-2 * eps)) / (12 * eps);
    std::memcpy(m.params() + t.offset, saved.data(), t.numel * sizeof(float));
    EXPECT_NEAR(analytic, numeric, 2e-3 * std::abs(numeric) + 1e-4) << t.name;
  }
}

TEST(Llama, GradientsMatchFiniteDifferencesGqaUntied) {
  Variant v{.name = "gqa-untied", .n_kv_heads = 2};
  check_gradients_by_differences(v);
}

TEST(Llama, GradientsMatchFiniteDifferencesTiedBiasQkNorm) {
  Variant v{.name = "mha-tied-bias-qknorm", .tied = true, .qkv_bias = true, .qk_norm = true};
  check_gradients_by_differences(v);
}

// Sizes that are no multiple of the 16-float alignment: the fused [q|k|v] and [gate|up]
// matrices are packed without padding (params.h), GQA with one kv head, bias and q/k norm.
TEST(Llama, GradientsMatchFiniteDifferencesOddSizesFusedProjections) {
  Variant v{.name = "odd-gqa-bias-qknorm",
            .dim = 18,
            .n_heads = 3,
            .n_kv_heads = 1,
            .head_dim = 6,
            .ffn_dim = 27,
            .vocab = 29,
            .qkv_bias = true,
            .qk_norm = true};
  check_gradients_by_differences(v);
}

TEST(Llama, ForwardBackwardIsDeterministicAndAccumulates) {
  Variant v{.name = "det", .n_kv_heads = 2, .qkv_bias = true};
  LlamaModel m(make_config(v));
  m.init_random(5);
  Batch b = make_batch(2, 16, v.vocab, 6);
  m.zero_grads();
  LossStats s1 = m.forward_backward(b, 0.5f);
  std::vector<float> g1(m.grads(), m.grads() + m.num_params_flat());
  m.zero_grads();
  LossStats s2 = m.forward_backward(b, 0.5f);
  std::vector<float> g2(m.grads(), m.grads() + m.num_params_flat());
  EXPECT_EQ(s1.loss_sum, s2.loss_sum);
  EXPECT_EQ(s1.count, b.num_scored());
  EXPECT_EQ(0, std::memcmp(g1.data(), g2.data(), g1.size() * sizeof(float)));
  // Without zero_grads the gradient adds up (gradient accumulation).
  m.forward_backward(b, 0.5f);
  for (size_t i = 0; i < g1.size(); i += 97) EXPECT_NEAR(m.grads()[i], 2 * g1[i], 1e-6);
  // forward_loss gives the same loss without touching the gradients.
  std::vector<float> before(m.grads(), m.grads() + m.num_params_flat());
  EXPECT_EQ(m.forward_loss(b).loss_sum, s1.loss_sum);
  EXPECT_EQ(0, std::memcmp(before.data(), m.grads(), before.size() * sizeof(float)));
}

TEST(Llama, ChunkedLossEqualsLossOfFullLogits) {
  Variant v{.name = "chunks", .n_kv_heads = 1, .tied = true};
  LlamaModel m(make_config(v));
  m.init_random(7);
  Batch b = make_batch(2, 12, v.vocab, 8, 5);
  std::vector<float> logits(size_t(b.B * b.T) * size_t(v.vocab));
  m.forward_logits(b, logits.data());
  double ref = 0;
  for (size_t r = 0; r < b.targets.size(); ++r) {
    if (b.targets[r] < 0) continue;
    const float* z = logits.data() + r * size_t(v.vocab);
    double mx = z[0], s = 0;
    for (int i = 0; i < v.vocab; ++i) mx = std::max(mx, double(z[i]));
    for (int i = 0; i < v.vocab; ++i) s += std::exp(z[i] - mx);
    ref += mx + std::log(s) - z[b.targets[r]];
  }
  for (int rows : {1, 5, 24, 1000}) {
    m.set_loss_chunk_rows(rows);
    EXPECT_NEAR(m.forward_loss(b).loss_sum, ref, 1e-4 * std::abs(ref)) << rows;
  }
  // Gradients do not depend on the chunking (up to float rounding).
  m.set_loss_chunk_rows(5);
  m.zero_grads();
  m.forward_backward(b, 1.0f);
  std::vector<float> g5(m.grads(), m.grads() + m.num_params_flat());
  m.set_loss_chunk_rows(256);
  m.zero_grads();
  m.forward_backward(b, 1.0f);
  double num = 0, den = 0;
  for (size_t i = 0; i < g5.size(); ++i) {
    num += double(g5[i] - m.grads()[i]) * (g5[i] - m.grads()[i]);
    den += double(g5[i]) * g5[i];
  }
  EXPECT_LT(std::sqrt(num / den), 1e-5);
}

TEST(Llama, ActivationBufferIsPlannedForTheLargestBatch) {
  Variant v{.name = "plan"};
  LlamaModel m(make_config(v));
  m.init_random(9);
  EXPECT_EQ(m.activation_bytes(), 0u);
  Batch big = make_batch(2, 16, v.vocab, 10), small = make_batch(2, 8, v.vocab, 11, 3);
  m.forward_backward(big, 1.0f);
  const size_t planned = m.activation_bytes();
  // At least the saved activations: per token and layer ~(4·dim + 2·q + 2·kv + 3·ffn) floats.
  const size_t per_token_layer = 4 * 32 + 2 * 32 + 2 * 32 + 3 * 172;
  EXPECT_GT(planned, 32u * 2 * per_token_layer * sizeof(float));
  m.forward_backward(small, 1.0f);
  EXPECT_EQ(m.activation_bytes(), planned);  // smaller batch: no re-plan
  // A smaller batch after a larger one gives the same result as on a fresh model.
  LlamaModel fresh(make_config(v));
  fresh.init_random(9);
  EXPECT_EQ(fresh.forward_loss(small).loss_sum, m.forward_loss(small).loss_sum);
}

void check_decode(const Variant& v) {
  SCOPED_TRACE(v.name);
  LlamaModel m(make_config(v));
  init_wide(m, 12);
  const int T = 11;
  Batch b;
  b.resize(1, T);
  for (int t = 0; t < T; ++t) {
    b.tokens[size_t(t)] = (t * 7 + 3) % v.vocab;
    b.positions[size_t(t)] = t;
  }
  std::vector<float> logits(size_t(T) * size_t(v.vocab));
  m.forward_logits(b, logits.data());
  KVCache cache(m.config(), 16);
  std::vector<float> last(size_t(v.vocab));
  auto expect_row = [&](int t) {
    double num = 0, den = 0;
    for (int i = 0; i < v.vocab; ++i) {
      double d = last[size_t(i)] - logits[size_t(t * v.vocab + i)];
      num += d * d;
      den += double(logits[size_t(t * v.vocab + i)]) * logits[size_t(t * v.vocab + i)];
    }
    EXPECT_LT(std::sqrt(num / den), 1e-5) << "token " << t;
  };
  decode(m, cache, b.tokens.data(), 4, last.data());  // a prompt of 4 tokens at once
  EXPECT_EQ(cache.length(), 4);
  expect_row(3);
  for (int t = 4; t < T; ++t) {  // then one token at a time
    decode(m, cache, b.tokens.data() + t, 1, last.data());
    expect_row(t);
  }
  EXPECT_THROW(decode(m, cache, b.tokens.data(), 6, last.data()), Error);  // 11 + 6 > 16
  cache.clear();
  decode(m, cache, b.tokens.data(), 1, last.data());
  expect_row(0);
}

TEST(Llama, DecodeMatchesForwardLogits) {
  check_decode(Variant{.name = "mha-untied"});
  check_decode(Variant{.name = "gqa-qknorm-bias-tied",
                       .n_kv_heads = 2,
                       .tied = true,
                       .qkv_bias = true,
                       .qk_norm = true,
                       .llama3_rope = true});
}

// Every variant the block expresses (GQA, tied embeddings, q/k/v bias, q/k norm, head_dim
// apart from dim/heads, llama3 RoPE scaling).
std::vector<Variant> decode_variants() {
  return {
      Variant{.name = "mha-untied"}, Variant{.name = "gqa-tied", .n_kv_heads = 2, .tied = true},
      Variant{.name = "gqa-bias", .n_kv_heads = 1, .qkv_bias = true},
      Variant{
          .name = "qknorm-headdim", .n_kv_heads = 2, .head_dim = 12, .tied = true, .qk_norm = true},
      Variant{.name = "gqa-qknorm-bias-tied-llama3",
              .n_kv_heads = 2,
              .tied = true,
              .qkv_bias = true,
              .qk_norm = true,
              .llama3_rope = true}};
}

// Relative L2 distance of two logit rows.
double rel_l2(const float* a, const float* b, int n) {
  double num = 0, den = 0;
  for (int i = 0; i < n; ++i) {
    const double d = double(a[i]) - b[i];
    num += d * d;
    den += double(b[i]) * b[i];
  }
  return std::sqrt(num / den);
}

// Sequences of different lengths decoded together: after each step, every sequence's last
// logits equal those of a prefill (forward_logits) of that sequence alone, and equal
// decoding it by itself.
TEST(Llama, BatchedDecodeMatchesPrefillForEveryVariant) {
  for (const Variant& v : decode_variants()) {
    SCOPED_TRACE(v.name);
    LlamaModel m(make_config(v));
    init_wide(m, 21);
    const int S = 3, cap = 24;
    std::vector<std::vector<int32_t>> hist(S);
    std::vector<KVCache> caches, alone;
    for (int s = 0; s < S; ++s) {
      caches.emplace_back(m.config(), cap);
      alone.emplace_back(m.config(), cap);
    }
    std::vector<std::vector<float>> last(S, std::vector<float>(size_t(v.vocab)));
    std::vector<float> single(size_t(v.vocab));
    // Steps: how many new tokens each sequence takes (0: it sits this step out).
    const std::vector<std::array<int, S>> steps = {{4, 1, 6}, {1, 1, 1}, {1, 0, 2},
                                                   {1, 1, 1}, {3, 1, 0}, {1, 1, 1}};
    uint32_t next_token = 5;
    for (const auto& step : steps) {
      std::vector<DecodeSeq> seqs;
      std::vector<std::vector<int32_t>> fresh(S);
      for (int s = 0; s < S; ++s) {
        for (int i = 0; i < step[size_t(s)]; ++i) {
          fresh[size_t(s)].push_back(int32_t(next_token % v.vocab));
          next_token = (next_token * 7 + 3) % 10007;
        }
        if (fresh[size_t(s)].empty()) continue;
        seqs.push_back(DecodeSeq{&caches[size_t(s)], fresh[size_t(s)].data(),
                                 int(fresh[size_t(s)].size()), last[size_t(s)].data()});
      }
      decode_batch(m, seqs.data(), int(seqs.size()));
      for (int s = 0; s < S; ++s) {
        if (fresh[size_t(s)].empty()) continue;
        auto& h = hist[size_t(s)];
        h.insert(h.end(), fresh[size_t(s)].begin(), fresh[size_t(s)].end());
        ASSERT_EQ(caches[size_t(s)].length(), int(h.size()));
        Batch b;
        b.resize(1, int(h.size()));
        for (size_t t = 0; t < h.size(); ++t) {
          b.tokens[t] = h[t];
          b.positions[t] = int32_t(t);
        }
        std::vector<float> logits(h.size() * size_t(v.vocab));
        m.forward_logits(b, logits.data());
        const float* want = logits.data() + (h.size() - 1) * size_t(v.vocab);
        EXPECT_LT(rel_l2(last[size_t(s)].data(), want, v.vocab), 1e-5)
            << "sequence " << s << " at length " << h.size();
        decode(m, alone[size_t(s)], fresh[size_t(s)].data(), int(fresh[size_t(s)].size()),
               single.data());
        EXPECT_LT(rel_l2(last[size_t(s)].data(), single.data(), v.vocab), 1e-6)
            << "sequence " << s << " decoded alone";
      }
    }
    // One sequence that would overflow its cache fails the whole step and changes no cache.
    std::vector<int32_t> many(size_t(cap), 1), one = {2};
    std::vector<DecodeSeq> bad = {{&caches[0], one.data(), 1, last[0].data()},
                                  {&caches[1], many.data(), cap, last[1].data()}};
    const int len0 = caches[0].length(), len1 = caches[1].length();
    EXPECT_THROW(decode_batch(m, bad.data(), 2), Error);
    EXPECT_EQ(caches[0].length(), len0);
    EXPECT_EQ(caches[1].length(), len1);
    // The same cache twice in one step is refused.
    std::vector<DecodeSeq> twice = {{&caches[0], one.data(), 1, last[0].data()},
                                    {&caches[0], one.data(), 1, last[1].data()}};
    EXPECT_THROW(decode_batch(m, twice.data(), 2), Error);
  }
}

TEST(Llama, RejectsBadBatches) {
  Variant v{.name = "bad"};
  LlamaModel m(make_config(v));
  m.init_random(1);
  Batch b = make_batch(1, 8, v.vocab, 2);
  b.tokens[3] = v.vocab;
  EXPECT_THROW(m.forward_loss(b), Error);
  b = make_batch(1, 8, v.vocab, 2);
  b.positions[2] = 3;  // a document cannot start before its row
  EXPECT_THROW(m.forward_loss(b), Error);
  b = make_batch(1, 8, v.vocab, 2);
  b.targets[0] = -2;
  EXPECT_THROW(m.forward_backward(b, 1.0f), Error);
  b.tokens.pop_back();
  EXPECT_THROW(m.forward_loss(b), Error);
  LlamaConfig c = make_config(v);
  c.rope_scaling = {{"rope_type", "dynamic"}, {"factor", 2.0}};
  EXPECT_THROW(LlamaModel{c}, Error);
}

// Copy task: each row is a random prefix of P tokens followed by the same P tokens again;
// only the second half is scored. Tokens are uniform over V = 16, so without looking back
// at the prefix no model can beat ln 16 = 2.77 nats/token. Reaching < 0.3 requires
// attention to learn to copy (an induction circuit across two layers), which only happens
// if the gradients through attention, RoPE, norms and MLPs are right.
TEST(Llama, ConvergesOnCopyTask) {
  Variant v{.name = "copy", .dim = 32, .n_heads = 4, .n_kv_heads = 2, .ffn_dim = 64, .vocab = 16};
  LlamaModel m(make_config(v));
  m.init_random(21);
  AdamWConfig ac;
  ac.beta2 = 0.99f;
  ac.weight_decay = 0.0f;
  AdamW opt(m.layout(), ac);
  const int P = 8, B = 16, T = 2 * P - 1;
  Rng rng(22);
  Batch b;
  b.resize(B, T);
  double last_loss = 0;
  const int steps = 400;  // reaches ~0.15 here
  for (int step = 0; step < steps; ++step) {
    for (int r = 0; r < B; ++r) {
      int32_t seq[2 * P];
      for (int t = 0; t < P; ++t) seq[t] = seq[t + P] = int32_t(rng.below(16));
      for (int t = 0; t < T; ++t) {
        const size_t i = size_t(r * T + t);
        b.tokens[i] = seq[t];
        b.targets[i] = t + 1 >= P ? seq[t + 1] : -1;
        b.positions[i] = t;
      }
    }
    m.zero_grads();
    LossStats s = m.forward_backward(b, 1.0f / float(b.num_scored()));
    const float lr = 1e-2f * std::min(1.0f, float(step + 1) / 20.0f);
    opt.step(m.params(), m.grads(), lr);
    last_loss = 0.9 * last_loss + 0.1 * s.mean();
    if (step == 0) last_loss = s.mean();
  }
  EXPECT_LT(last_loss, 0.3) << "loss after " << steps << " steps (ln 16 = 2.77)";
}

}  // namespace
}  // namespace still
