#include "still/teach/topk_collector.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "still/util/log_softmax.h"

namespace still {

void TopKRow::extract(const float* z, int V, int k, int32_t* ids, float* logp, float* log_tail,
                      std::vector<int32_t>& idx) {
  idx.resize(size_t(V));
  for (int j = 0; j < V; ++j) idx[size_t(j)] = j;
  auto before = [z](int32_t a, int32_t b) { return z[a] > z[b] || (z[a] == z[b] && a < b); };
  if (k < V) std::nth_element(idx.begin(), idx.begin() + k, idx.end(), before);
  std::sort(idx.begin(), idx.begin() + k, before);

  // Log-sum-exp over the top-k and, separately, over the rest (relative to its own max) so a
  // tiny tail mass keeps its precision.
  auto logit = [&](int64_t j) { return double(z[idx[size_t(j)]]); };
  // The top-k are sorted: the first is their max.
  const double lse_top = log_sum_exp_from(logit(0), k, logit);
  double lse_tail = -std::numeric_limits<double>::infinity();
  if (k < V) lse_tail = log_sum_exp(V - k, [&](int64_t j) { return logit(k + j); });
  const double lse_all = log_add_exp(lse_top, lse_tail);
  for (int i = 0; i < k; ++i) {
    ids[i] = idx[size_t(i)];
    logp[i] = float(double(z[idx[size_t(i)]]) - lse_all);
  }
  *log_tail = float(lse_tail - lse_all);
}

LossStats TopKCollector::process(int64_t row0, int n, int V, float* logits, bool, float) {
  std::vector<double> ce(size_t(n), 0.0);
#pragma omp parallel
  {
    std::vector<int32_t> scratch;
#pragma omp for schedule(static)
    for (int r = 0; r < n; ++r) {
      int64_t row = row0 + r;
      const float* z = logits + int64_t(r) * V;
      TopKRow::extract(z, V, k_, ids_ + row * k_, logp_ + row * k_, log_tail_ + row, scratch);
      int t = batch_.targets[size_t(row)];
      if (t >= 0) {
        // −log p(target) from the top-k when it is there, else from the full row.
        double lse = double(z[ids_[row * k_]]) - double(logp_[row * k_]);
        ce[size_t(r)] = lse - double(z[t]);
      }
    }
  }
  LossStats st;
  for (int r = 0; r < n; ++r)
    if (batch_.targets[size_t(row0 + r)] >= 0) {
      st.loss_sum += ce[size_t(r)];
      st.count += 1;
    }
  return st;
}

}  // namespace still
