// Times LlamaModel training steps (forward + fused LM head/CE + backward + AdamW) and greedy
// decode on random tokens, and reports the memory of a step. bench/compare_torch.sh reads
// the first line.
// With STILL_PROFILE=1 it also prints the wall and CPU time per op (util/op_profile.h) of
// the timed steps and each op's share of a step.
// usage: engine_step [config=stories15m] [B=8] [T=256] [steps=3] [precision=fp32|bf16]
//                    [loss_chunk_rows=model default]   (B·T: unchunked LM head + loss, a reference)
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "still/model/llama.h"
#include "still/train/adamw.h"
#include "still/util/op_profile.h"
#include "still/util/rng.h"

int main(int argc, char** argv) {
  using Clock = std::chrono::steady_clock;
  const std::string name = argc > 1 ? argv[1] : "stories15m";
  const int B = argc > 2 ? std::atoi(argv[2]) : 8, T = argc > 3 ? std::atoi(argv[3]) : 256;
  const int steps = argc > 4 ? std::atoi(argv[4]) : 3;
  const still::Precision precision = still::parse_precision(argc > 5 ? argv[5] : "fp32");
  still::LlamaConfig c = still::LlamaConfig::preset(name);
  still::LlamaModel m(c);
  m.set_precision(precision);
  if (argc > 6) m.set_loss_chunk_rows(std::atoi(argv[6]));
  m.init_random(1);
  still::Batch b;
  b.resize(B, T);
  still::Rng rng(2);
  for (size_t i = 0; i < b.tokens.size(); ++i) {
    b.tokens[i] = int32_t(rng.below(uint64_t(c.vocab_size)));
    b.targets[i] = int32_t(rng.below(uint64_t(c.vocab_size)));
    b.positions[i] = int32_t(i % size_t(T));
  }
  still::AdamW opt(m.layout(), {});
  auto train_step = [&] {
    m.zero_grads();
    m.forward_backward(b, 1.0f / float(b.num_scored()));
    opt.step(m.params(), m.grads(), 1e-4f);
  };
  train_step();  // warm-up, plans the buffer
  still::op_profile_reset();
  auto t0 = Clock::now();
  const double cpu0 = still::process_cpu_now();
  for (int s = 0; s < steps; ++s) train_step();
  const double sec = std::chrono::duration<double>(Clock::now() - t0).count() / steps;
  const double cpu_sec = (still::process_cpu_now() - cpu0) / steps;
  const double tokens = double(B) * T;
  const double flops = 6.0 * double(c.num_matmul_params()) * tokens;
  const double mib = 1.0 / (1 << 20);
  // CPU time per step: with OMP_WAIT_POLICY=passive, a steadier figure than wall time on a
  // loaded machine (waiting threads sleep instead of spinning).
  std::printf(
      "%s B=%d T=%d threads=%d %s: %.0f ms/step, %.0f tokens/s, %.1f GFLOP/s (6N), %.0f CPU "
      "ms/step\n",
      name.c_str(), B, T, omp_get_max_threads(), still::precision_name(precision).c_str(),
      sec * 1e3, tokens / sec, flops / sec * 1e-9, cpu_sec * 1e3);
  if (still::op_profile_enabled()) {
    auto ops = still::op_profile_totals();
    std::stable_sort(ops.begin(), ops.end(),
                     [](const auto& a, const auto& b) { return a.cpu_seconds > b.cpu_seconds; });
    double wall = 0, cpu = 0;
    for (auto& op : ops) wall += op.seconds, cpu += op.cpu_seconds;
    std::printf(
        "per op, mean of %d steps: %.1f ms/step wall, ops cover %.1f ms wall, %.1f ms CPU\n", steps,
        sec * 1e3, wall / steps * 1e3, cpu / steps * 1e3);
    std::printf("  %-18s %9s %6s %9s %6s %8s %6s\n", "op", "wall ms", "share", "CPU ms", "share",
                "GFLOP/s", "calls");
    for (auto& op : ops) {
      char rate[32] = "";
      if (op.flops > 0) std::snprintf(rate, sizeof rate, "%.0f", op.flops / op.seconds * 1e-9);
      std::printf("  %-18s %9.2f %5.1f%% %9.2f %5.1f%% %8s %6lld\n", op.name.c_str(),
                  op.seconds / steps * 1e3, 100 * op.seconds / wall, op.cpu_seconds / steps * 1e3,
                  100 * op.cpu_seconds / cpu, rate, (long long)(op.calls / steps));
    }
  }
  std::printf("memory: activations %.1f MiB, params+grads+AdamW %.1f MiB\n",
              double(m.activation_bytes()) * mib, double(m.num_params_flat()) * 16 * mib);

  still::KVCache cache(c, T);
  std::vector<float> logits(size_t(c.vocab_size));
  int32_t tok = 1;
  t0 = Clock::now();
  const int n = std::min(T, 64);
  for (int i = 0; i < n; ++i) {
    still::decode(m, cache, &tok, 1, logits.data());
    int best = 0;
    for (int v = 1; v < c.vocab_size; ++v)
      if (logits[size_t(v)] > logits[size_t(best)]) best = v;
    tok = best;
  }
  const double dsec = std::chrono::duration<double>(Clock::now() - t0).count();
  std::printf("decode: %.0f tokens/s (batch 1, %d tokens)\n", n / dsec, n);

  // The same steps for 8 sequences at once (decode_batch: one pass over the weights per step).
  constexpr int kSeqs = 8;
  std::vector<still::KVCache> caches(kSeqs, still::KVCache(c, T));
  std::vector<float> batch_logits(size_t(kSeqs) * size_t(c.vocab_size));
  std::vector<int32_t> toks(kSeqs);
  for (int s = 0; s < kSeqs; ++s) toks[size_t(s)] = 1 + s;
  std::vector<still::DecodeSeq> seqs(kSeqs);
  t0 = Clock::now();
  for (int i = 0; i < n; ++i) {
    for (int s = 0; s < kSeqs; ++s)
      seqs[size_t(s)] = {&caches[size_t(s)], &toks[size_t(s)], 1,
                         batch_logits.data() + size_t(s) * size_t(c.vocab_size)};
    still::decode_batch(m, seqs.data(), kSeqs);
    for (int s = 0; s < kSeqs; ++s) {
      const float* l = batch_logits.data() + size_t(s) * size_t(c.vocab_size);
      toks[size_t(s)] = int32_t(std::max_element(l, l + c.vocab_size) - l);
    }
  }
  const double bsec = std::chrono::duration<double>(Clock::now() - t0).count();
  std::printf("decode: %.0f tokens/s aggregate (batch %d, %d steps; %.2fx batch 1)\n",
              kSeqs * n / bsec, kSeqs, n, (kSeqs * n / bsec) / (n / dsec));
  return 0;
}
