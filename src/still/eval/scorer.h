// A language model as evaluation sees it: runs a batch forward and hands the logits, a
// chunk of rows at a time, to a LogitLoss (no gradients). LlamaScorer wraps the engine;
// tests plug in small analytic models.
#pragma once
#include "still/data/batch.h"
#include "still/model/logit_loss.h"

namespace still::eval {

class LmScorer {
 public:
  virtual ~LmScorer() = default;
  virtual int vocab_size() const = 0;
  virtual int max_seq() const = 0;
  virtual LossStats run(const Batch& batch, LogitLoss& probe) = 0;
};

}  // namespace still::eval
