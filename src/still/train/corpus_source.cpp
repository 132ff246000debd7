#include "still/data/corpus.h"
#include "still/data/generated_corpus.h"
#include "still/data/packing.h"
#include "still/train/train_source.h"
#include "still/train/trainer.h"

namespace still::train {
namespace {

// A text corpus (--data), or teacher generations (--generated: sequence-level KD, the prompt
// tokens masked out of the loss when opt.mask_prompt).
// With references, `other` gets the held-out documents of the other kind (references when
// training on teacher samples and vice versa): both runs of a comparison evaluate on both.
Corpus load_source_corpus(const TrainOptions& opt, const Tokenizer& tok, int T, std::string& note,
                          TokenDocs& other) {
  if (opt.generated.empty()) return load_corpus(opt.data, tok, {opt.heldout_fraction, T + 1});
  GeneratedCorpus g = load_generated_corpus(
      opt.generated, tok, {opt.heldout_fraction, opt.mask_prompt, opt.use_reference});
  if (g.has_references)
    other = load_generated_corpus(opt.generated, tok,
                                  {opt.heldout_fraction, opt.mask_prompt, !opt.use_reference})
                .corpus.heldout;
  note = ", " + std::to_string(g.samples) + " " + (opt.use_reference ? "reference" : "teacher") +
         " samples of " + std::to_string(g.prompts) + " prompts from " + opt.generated +
         (opt.mask_prompt ? ", prompt tokens masked" : ", prompt tokens scored");
  if (g.split_boundaries > 0)
    note += ", " + std::to_string(g.split_boundaries) +
            " prompt/continuation boundaries inside a token (tokenized apart)";
  return std::move(g.corpus);
}

class CorpusSource : public TrainSource {
 public:
  CorpusSource(const TrainOptions& opt, const Tokenizer& tok, int T, int B)
      : opt_(opt),
        corpus_(load_source_corpus(opt, tok, T, note_, other_docs_)),
        stream_(corpus_.train, opt.seed),
        heldout_(make_heldout_batches(corpus_.heldout, B, T, opt.eval_batches)) {
    if (other_docs_.num_docs() > 0)
      other_heldout_ = make_heldout_batches(other_docs_, B, T, opt.eval_batches);
  }

  nlohmann::json identity() const override {
    if (opt_.generated.empty()) return {{"corpus_sha256", corpus_.sha256}};
    return {{"generated_sha256", corpus_.sha256},
            {"mask_prompt", opt_.mask_prompt},
            {"use_reference", opt_.use_reference}};
  }

  std::string describe() const override {
    return std::to_string(corpus_.train.tokens.size()) + " train / " +
           std::to_string(corpus_.heldout.tokens.size()) + " held-out tokens (" +
           std::to_string(corpus_.heldout.num_docs()) + " held-out documents" + note_ + ")";
  }

  void fill(int64_t step, int micro, int accum, int B, int T, Batch& batch) override {
    make_train_batch(stream_, step, micro, accum, B, T, batch);
  }

  LossStats forward_backward(LlamaModel& model, int, const Batch& batch,
                             float grad_scale) override {
    return model.forward_backward(batch, grad_scale);
  }

  double evaluate(LlamaModel& model, nlohmann::json& rec, double& flops) override {
    auto eval = [&](const std::vector<Batch>& batches) {
      LossStats s;
      for (auto& b : batches) {
        s += model.forward_loss(b);
        flops += batch_flops(model.config(), b, false);
      }
      return s.mean();
    };
    const double own = eval(heldout_);
    if (!other_heldout_.empty()) {
      const double other = eval(other_heldout_);
      rec["heldout_samples_loss"] = opt_.use_reference ? other : own;
      rec["heldout_reference_loss"] = opt_.use_reference ? own : other;
    }
    return own;
  }

  nlohmann::json data_state(int64_t rows, int T) const override {
    return {{"seed", opt_.seed},
            {"rows_consumed", rows},
            {"epoch", double(rows) * T / double(stream_.tokens_per_epoch())},
            {"tokens_per_epoch", stream_.tokens_per_epoch()},
            {"heldout_tokens", int64_t(corpus_.heldout.tokens.size())},
            {"documents", corpus_.num_documents}};
  }

  void add_inputs(Manifest& m) const override {
    if (opt_.generated.empty())
      m.add_input("data", opt_.data);
    else
      m.add_input("generated", opt_.generated);
  }

 private:
  const TrainOptions& opt_;
  std::string note_;
  TokenDocs other_docs_;
  Corpus corpus_;
  PackedStream stream_;
  std::vector<Batch> heldout_;
  std::vector<Batch> other_heldout_;
};

}  // namespace

std::unique_ptr<TrainSource> make_corpus_source(const TrainOptions& opt, const Tokenizer& tok,
                                                int T, int B) {
  return std::make_unique<CorpusSource>(opt, tok, T, B);
}

}  // namespace still::train
