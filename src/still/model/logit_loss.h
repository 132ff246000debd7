// A loss on the LM head's output. The model calls it chunk by chunk (a few hundred rows of
// [rows, V] logits at a time) so that B·T·V logits are never materialised at once; the loss
// turns each chunk of logits into dL/dlogits in place. Cross-entropy lives here; the KD
// losses (teach/distil) implement the same interface on the teacher's stored signal.
#pragma once
#include <cstdint>
#include <vector>

#include "still/data/batch.h"

namespace still {

class LogitLoss {
 public:
  virtual ~LogitLoss() = default;
  // `logits` holds rows [row0, row0 + n) of the flattened [B*T, V] logits. Returns the
  // summed loss of these rows. If `want_grad`, overwrites `logits` with
  // grad_scale * d(loss_sum)/d(logits); rows that are not scored get zeros.
  virtual LossStats process(int64_t row0, int n, int V, float* logits, bool want_grad,
                            float grad_scale) = 0;
};

// Hard-label cross-entropy on batch.targets (-1 = masked).
class CrossEntropyLoss : public LogitLoss {
 public:
  explicit CrossEntropyLoss(const Batch& batch) : batch_(batch) {}
  LossStats process(int64_t row0, int n, int V, float* logits, bool want_grad,
                    float grad_scale) override;

 private:
  const Batch& batch_;
  std::vector<double> row_loss_;  // per-row losses, summed in order (thread-count independent)
};

}  // namespace still
