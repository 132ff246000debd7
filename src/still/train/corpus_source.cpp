#include "still/train/corpus.h"
#include "still/train/packing.h"
#include "still/train/train_source.h"
#include "still/train/trainer.h"

namespace still::train {
namespace {

class CorpusSource : public TrainSource {
 public:
  CorpusSource(const TrainOptions& opt, const Tokenizer& tok, int T, int B)
      : opt_(opt),
        corpus_(load_corpus(opt.data, tok, {opt.heldout_fraction, T + 1})),
        stream_(corpus_.train, opt.seed),
        heldout_(make_heldout_batches(corpus_.heldout, B, T, opt.eval_batches)) {}

  nlohmann::json identity() const override { return {{"corpus_sha256", corpus_.sha256}}; }

  std::string describe() const override {
    return std::to_string(corpus_.train.tokens.size()) + " train / " +
           std::to_string(corpus_.heldout.tokens.size()) + " held-out tokens (" +
           std::to_string(corpus_.heldout.num_docs()) + " held-out documents)";
  }

  void fill(int64_t step, int micro, int accum, int B, int T, Batch& batch) override {
    make_train_batch(stream_, step, micro, accum, B, T, batch);
  }

  LossStats forward_backward(LlamaModel& model, int, const Batch& batch,
                             float grad_scale) override {
    return model.forward_backward(batch, grad_scale);
  }

  double evaluate(LlamaModel& model, nlohmann::json&, double& flops) override {
    LossStats s;
    for (auto& b : heldout_) {
      s += model.forward_loss(b);
      flops += batch_flops(model.config(), b, false);
    }
    return s.mean();
  }

  nlohmann::json data_state(int64_t rows, int T) const override {
    return {{"seed", opt_.seed},
            {"rows_consumed", rows},
            {"epoch", double(rows) * T / double(stream_.tokens_per_epoch())},
            {"tokens_per_epoch", stream_.tokens_per_epoch()},
            {"heldout_tokens", int64_t(corpus_.heldout.tokens.size())},
            {"documents", corpus_.num_documents}};
  }

  void add_inputs(Manifest& m) const override { m.add_input("data", opt_.data); }

 private:
  const TrainOptions& opt_;
  Corpus corpus_;
  PackedStream stream_;
  std::vector<Batch> heldout_;
};

}  // namespace

std::unique_ptr<TrainSource> make_corpus_source(const TrainOptions& opt, const Tokenizer& tok,
                                                int T, int B) {
  return std::make_unique<CorpusSource>(opt, tok, T, B);
}

}  // namespace still::train
