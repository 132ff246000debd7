// Cost of a KD training step on a stored top-k signal against a plain cross-entropy step of
// the same student on the same tokens, interleaved in one process so machine noise hits both.
// usage: kd_step [config=small] [B=4] [T=256] [k=64] [rounds=4]
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "still/model/kd_loss.h"
#include "still/model/llama.h"
#include "still/teach/topk_collector.h"
#include "still/util/rng.h"

int main(int argc, char** argv) {
  using Clock = std::chrono::steady_clock;
  const std::string name = argc > 1 ? argv[1] : "small";
  const int B = argc > 2 ? std::atoi(argv[2]) : 4, T = argc > 3 ? std::atoi(argv[3]) : 256;
  const int k = argc > 4 ? std::atoi(argv[4]) : 64, rounds = argc > 5 ? std::atoi(argv[5]) : 4;
  still::LlamaConfig c = still::LlamaConfig::preset(name);
  const int V = c.vocab_size;
  still::LlamaModel m(c);
  m.init_random(1);
  still::Batch b;
  b.resize(B, T);
  still::Rng rng(2);
  for (size_t i = 0; i < b.tokens.size(); ++i) {
    b.tokens[i] = int32_t(rng.below(uint64_t(V)));
    b.targets[i] = int32_t(rng.below(uint64_t(V)));
    b.positions[i] = int32_t(i % size_t(T));
  }
  // A peaked synthetic teacher signal, extracted the way `still teach` extracts it.
  const size_t rows = size_t(B) * T;
  std::vector<int32_t> ids(rows * k), scratch;
  std::vector<float> logp(rows * k), tail(rows), z(static_cast<size_t>(V));
  for (size_t r = 0; r < rows; ++r) {
    for (auto& x : z) x = float(3.0 * rng.normal());
    still::TopKRow::extract(z.data(), V, k, &ids[r * k], &logp[r * k], &tail[r], scratch);
  }
  still::KdLoss kd(b, still::TeacherRows{k, ids.data(), logp.data(), tail.data(), V},
                   still::KdOptions::parse("fkl", 0.9f, 2.0f));
  const float scale = 1.0f / float(b.num_scored());
  m.zero_grads();
  m.forward_backward(b, scale);  // warm-up: plans the activation buffer
  m.forward_backward(b, kd, scale);
  std::vector<double> ce_t, kd_t;
  for (int r = 0; r < rounds; ++r) {
    auto t0 = Clock::now();
    m.zero_grads();
    m.forward_backward(b, scale);
    auto t1 = Clock::now();
    m.zero_grads();
    m.forward_backward(b, kd, scale);
    auto t2 = Clock::now();
    ce_t.push_back(std::chrono::duration<double>(t1 - t0).count());
    kd_t.push_back(std::chrono::duration<double>(t2 - t1).count());
  }
  std::sort(ce_t.begin(), ce_t.end());
  std::sort(kd_t.begin(), kd_t.end());
  double ce = ce_t[ce_t.size() / 2], kdm = kd_t[kd_t.size() / 2];
  std::printf(
      "%s B=%d T=%d V=%d k=%d threads=%d: CE step %.0f ms, KD step (fkl, alpha 0.9, T=2) "
      "%.0f ms, ratio KD/CE %.3f (median of %d)\n",
      name.c_str(), B, T, V, k, omp_get_max_threads(), ce * 1e3, kdm * 1e3, kdm / ce, rounds);
  return 0;
}
