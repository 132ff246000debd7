// The engine as an evaluation scorer: forward passes with a measuring LogitLoss.
#pragma once
#include "still/eval/scorer.h"
#include "still/model/llama.h"

namespace still::eval {

class LlamaScorer : public LmScorer {
 public:
  explicit LlamaScorer(LlamaModel& model) : model_(model) {}
  int vocab_size() const override { return model_.config().vocab_size; }
  int max_seq() const override { return model_.config().max_seq; }
  LossStats run(const Batch& batch, LogitLoss& probe) override {
    return model_.forward_loss(batch, probe);
  }

 private:
  LlamaModel& model_;
};

}  // namespace still::eval
