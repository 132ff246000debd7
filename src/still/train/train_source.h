// Where a training run's rows and losses come from. The trainer loop (train/trainer.cpp) is
// the same for `still train` and `still distil`; a TrainSource supplies what differs:
//   CorpusSource  text corpus, packed rows, hard-label cross-entropy   (still train)
//   SignalSource  a teacher signal's exact windows, KD losses on the    (still distil)
//                 stored top-k, or cross-entropy on the same windows (the matched baseline)
#pragma once
#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "still/data/manifest.h"
#include "still/formats/tokenizer/tokenizer.h"
#include "still/model/kd_loss.h"
#include "still/model/llama.h"

namespace still::train {

struct TrainOptions;

// Model FLOPs of a forward (+ backward when `train`) pass over a batch: 2 (6) per matmul
// parameter per token, plus attention's scores and weighted sum over each token's context.
double batch_flops(const LlamaConfig& c, const Batch& b, bool train);

class TrainSource {
 public:
  virtual ~TrainSource() = default;
  // Facts a resumed run must match (data hashes, loss settings), merged into the run identity.
  virtual nlohmann::json identity() const = 0;
  // One line for the log: how much data there is.
  virtual std::string describe() const = 0;
  // Tokens per row the source dictates (0: the trainer chooses).
  virtual int window() const { return 0; }
  // Fills micro-batch slot `micro` of optimizer step `step` with B rows of T tokens.
  virtual void fill(int64_t step, int micro, int accum, int B, int T, Batch& batch) = 0;
  // Forward + backward of the batch last filled into slot `micro`.
  virtual LossStats forward_backward(LlamaModel& model, int micro, const Batch& batch,
                                     float grad_scale) = 0;
  // Adds per-step metrics (e.g. KL to the teacher) to the metrics record, then resets them.
  virtual void step_metrics(nlohmann::json& /*record*/) {}
  // Held-out loss (nats/token); adds held-out metrics to `record`; adds FLOPs spent to `flops`.
  virtual double evaluate(LlamaModel& model, nlohmann::json& record, double& flops) = 0;
  // Data position for trainer_state.json after `rows` rows of T tokens.
  virtual nlohmann::json data_state(int64_t rows, int T) const = 0;
  // Records the run's data inputs (for lineage).
  virtual void add_inputs(Manifest& manifest) const = 0;
};

// Cross-entropy on a text corpus, as `still train` does it.
std::unique_ptr<TrainSource> make_corpus_source(const TrainOptions& opt, const Tokenizer& tok,
                                                int T, int B);
// Distillation on a teacher signal (opt.signal), with opt.loss / alpha / temperature.
std::unique_ptr<TrainSource> make_signal_source(const TrainOptions& opt, const Tokenizer& tok,
                                                int student_vocab, int B);

}  // namespace still::train
