// Scoring one suite task on one model: held-out perplexity over text documents (packed
// into windows exactly as the trainer packs its held-out split: positions restart per
// document), and multiple-choice accuracy by lm-eval-harness's log-likelihood protocol.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "still/eval/hellaswag.h"
#include "still/eval/logit_probes.h"
#include "still/eval/scorer.h"
#include "still/eval/suite.h"
#include "still/formats/tokenizer/tokenizer.h"

namespace still::eval {

struct TaskOptions {
  int64_t limit = 0;   // at most this many documents / items (0 = all)
  int batch_rows = 4;  // rows per forward pass (perplexity)
  int mc_items = 8;    // multiple-choice items per forward pass
  bool progress = true;
};

struct PerplexityScore {
  int64_t docs = 0, tokens = 0, bytes = 0;  // tokens = scored positions; bytes of the text
  double nats = 0;                          // Σ −log p(target)
  double nats_per_token() const { return tokens ? nats / double(tokens) : 0; }
  double ppl() const;
  double nats_per_byte() const { return bytes ? nats / double(bytes) : 0; }
  double seconds = 0;  // forward passes only
};

// The documents of a perplexity task's data (the trainer's corpus rules).
std::vector<std::string> task_documents(const SuiteTask& task);

// With `teacher`, also measures agreement (same tokenizer required; checked by the caller).
PerplexityScore score_perplexity(LmScorer& model, const Tokenizer& tok, const SuiteTask& task,
                                 const TaskOptions& opt, LmScorer* teacher, Calibration& calib,
                                 Agreement& agree);

struct McScore {
  int64_t items = 0, correct = 0, correct_norm = 0, tokens = 0;
  double acc() const { return items ? double(correct) / double(items) : 0; }
  double acc_norm() const { return items ? double(correct_norm) / double(items) : 0; }
  std::vector<std::vector<double>> logprobs;  // per item, per ending: Σ log p(ending tokens)
  double seconds = 0;
};

// The tokens lm-eval scores for one (context, ending) pair: encode(context + " " + ending),
// the first len(encode(context)) tokens are context, the rest the ending. `bos` (or -1) is
// prepended. Returns (input sequence, number of ending tokens at its end).
std::pair<std::vector<int32_t>, int> mc_pair_tokens(const Tokenizer& tok, const std::string& ctx,
                                                    const std::string& ending);

McScore score_multiple_choice(LmScorer& model, const Tokenizer& tok,
                              const std::vector<McItem>& items, const TaskOptions& opt);

}  // namespace still::eval
