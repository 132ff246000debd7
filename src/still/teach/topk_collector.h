// Extracts the teacher signal from the LM head's logits, chunk by chunk: for each position
// the top-k token ids (ties broken by lower id), their log-probabilities, and log p_tail,
// the log of the probability mass outside the top-k, from the full logits. Implemented as
// a LogitLoss so it rides on the engine's fused, chunked LM head: the teacher's B·T·V
// logits are never materialised. It also reports the teacher's own cross-entropy.
#pragma once
#include <cstdint>
#include <vector>

#include "still/model/logit_loss.h"

namespace still {

struct TopKRow {
  // Fills ids/logp (k entries, sorted by log-probability descending, ties by id) and
  // log_tail for one row of V logits. `scratch` is reused between calls.
  static void extract(const float* logits, int V, int k, int32_t* ids, float* logp,
                      float* log_tail, std::vector<int32_t>& scratch);
};

class TopKCollector : public LogitLoss {
 public:
  // Output arrays sized [B*T, k] (ids, logp) and [B*T] (log_tail).
  TopKCollector(const Batch& batch, int k, int32_t* ids, float* logp, float* log_tail)
      : batch_(batch), k_(k), ids_(ids), logp_(logp), log_tail_(log_tail) {}
  LossStats process(int64_t row0, int n, int V, float* logits, bool want_grad,
                    float grad_scale) override;

 private:
  const Batch& batch_;
  int k_;
  int32_t* ids_;
  float* logp_;
  float* log_tail_;
};

}  // namespace still
