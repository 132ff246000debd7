#include "still/model/logit_loss.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "still/kernels/parallel.h"
#include "still/kernels/vexp.h"
#include "still/util/error.h"

namespace still {

LossStats CrossEntropyLoss::process(int64_t row0, int n, int V, float* logits, bool want_grad,
                                    float grad_scale) {
  require(row0 >= 0 && row0 + n <= int64_t(batch_.targets.size()),
          "cross-entropy: rows [" + std::to_string(row0) + ", " + std::to_string(row0 + n) +
              ") are outside the batch's " + std::to_string(batch_.targets.size()) + " targets");
  const int32_t* targets = batch_.targets.data() + row0;
  for (int r = 0; r < n; ++r)
    require(targets[r] >= -1 && targets[r] < V,
            "cross-entropy: target " + std::to_string(targets[r]) + " at row " +
                std::to_string(row0 + r) + " is outside the vocabulary of " + std::to_string(V));
  row_loss_.assign(size_t(n), 0.0);
#pragma omp parallel for schedule(static) if (int64_t(n) * V >= kernels::kParallelMinWork)
  for (int r = 0; r < n; ++r) {
    float* x = logits + int64_t(r) * V;
    const int32_t target = targets[r];
    if (target < 0) {
      if (want_grad)
        for (int i = 0; i < V; ++i) x[i] = 0.0f;
      continue;
    }
    // Stable log-softmax: lse = max + log Σ exp(x − max), the sum in double. With a
    // gradient, exp(x − max) is stored in place and scaled afterwards (one exp per logit).
    float mx = x[0];
#pragma omp simd reduction(max : mx)
    for (int i = 1; i < V; ++i) mx = x[i] > mx ? x[i] : mx;
    const float target_logit = x[target];
    double sum = 0;
    // exp and the double sum in separate loops: together they do not vectorise.
    if (want_grad) {
#pragma omp simd
      for (int i = 0; i < V; ++i) x[i] = kernels::fast_exp(x[i] - mx);
#pragma omp simd reduction(+ : sum)
      for (int i = 0; i < V; ++i) sum += x[i];
    } else {
      constexpr int kBlock = 256;
      float e[kBlock];
      for (int i0 = 0; i0 < V; i0 += kBlock) {
        const int n_i = std::min(kBlock, V - i0);
#pragma omp simd
        for (int i = 0; i < n_i; ++i) e[i] = kernels::fast_exp(x[i0 + i] - mx);
#pragma omp simd reduction(+ : sum)
        for (int i = 0; i < n_i; ++i) sum += e[i];
      }
    }
    row_loss_[size_t(r)] = double(mx) + std::log(sum) - double(target_logit);
    if (want_grad) {
      const float c = float(double(grad_scale) / sum);
#pragma omp simd
      for (int i = 0; i < V; ++i) x[i] *= c;
      x[target] -= grad_scale;
    }
  }
  LossStats s;
  for (int r = 0; r < n; ++r)
    if (targets[r] >= 0) {
      s.loss_sum += row_loss_[size_t(r)];
      ++s.count;
    }
  return s;
}

}  // namespace still
