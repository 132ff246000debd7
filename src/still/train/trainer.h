// The training loop behind `still train`: a Llama-family model trained from scratch on a
// text corpus with AdamW, warmup + cosine LR, gradient clipping and accumulation, held-out
// evaluation, metrics, and checkpoints from which a rerun of the same command resumes
// exactly (same machine and thread count: bitwise-identical final weights).
#pragma once
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

namespace still::train {

struct TrainOptions {
  std::string data;  // corpus: .txt (blank-line separated) or .jsonl ("text")
  std::string tokenizer = "bytes";
  std::string config;  // preset name or JSON file
  std::string out;     // run directory
  int64_t steps = 1000;
  int batch = 8;                  // rows per micro-batch
  int seq = 0;                    // tokens per row; 0 = the config's max_seq
  int grad_accum = 1;             // micro-batches per optimizer step
  double lr = 1e-3, min_lr = -1;  // min_lr < 0: lr / 10
  int64_t warmup = -1;            // < 0: steps / 20
  double weight_decay = 0.1;
  double clip = 1.0;         // max global grad norm; 0 = off
  int64_t eval_every = 100;  // 0 = only at the end
  int eval_batches = 8;
  int64_t save_every = 200;  // 0 = only at the end
  double heldout_fraction = 0.03;
  uint64_t seed = 0;
  int threads = 0;  // 0 = every core
  // fp32 | bf16 (bf16 matmuls, fp32 master weights); part of the run's identity.
  std::string precision = "fp32";

  // Distillation (`still distil`): rows and losses come from a teacher signal, not --data.
  std::string signal;        // signal directory written by `still teach`; empty: corpus
  std::string loss = "fkl";  // fkl | rkl | jsd:BETA | ce (ce: the matched baseline)
  double alpha = 1.0;        // weight of the KD term; 1 - alpha goes to hard-label CE
  double temperature = 1.0;
  std::string init;  // initial weights from a model (student init); empty: random

  // Sequence-level KD (`still distil --generated`): cross-entropy on teacher generations in
  // the directory `still teach --generate` wrote (empty: --data), the prompt tokens' targets
  // not scored with mask_prompt; use_reference trains on prompt + reference instead (the
  // matched baseline).
  std::string generated;
  bool mask_prompt = true;
  bool use_reference = false;
};

struct TrainSummary {
  std::string run_dir, checkpoint;
  int64_t start_step = 0, step = 0, steps = 0;
  bool resumed = false, already_complete = false;
  nlohmann::json heldout_eval = nlohmann::json::object();  // last evaluation's heldout_* metrics
  double train_loss = 0, heldout_loss = 0;              // nats/token; last step, last evaluation
  double tokens_per_second = 0;                         // this session
  int64_t tokens = 0;                                   // trained on, whole run
  double flops = 0, wall_seconds = 0, cpu_seconds = 0;  // whole run
  int64_t num_params = 0;
  double activation_bytes = 0, state_bytes = 0, peak_rss_bytes = 0;
  int threads = 0;
  std::string precision;
  nlohmann::json to_json() const;
};

// Throws still::Error (one line) on bad input: missing/empty corpus, bad config, a damaged
// checkpoint, a run directory made with another config, corpus or hyperparameters.
TrainSummary run(const TrainOptions& opt);

}  // namespace still::train
