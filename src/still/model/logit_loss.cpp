#include "still/model/logit_loss.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "still/kernels/isa.h"
#include "still/kernels/parallel.h"
#include "still/kernels/vexp.h"
#include "still/util/error.h"

#define STILL_SIMD_BODY "still/model/logit_loss_simd.inc"
#include "still/kernels/per_isa.inc"

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
    row_loss_[size_t(r)] = STILL_DISPATCH(cross_entropy_row, x, V, target, want_grad, grad_scale);
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
