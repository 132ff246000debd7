#include "still/cli/train_flags.h"

#include <cmath>

namespace still::cli {

void add_training_flags(CLI::App* cmd, train::TrainOptions& opt) {
  cmd->add_option("--out", opt.out, "Run directory (checkpoints, metrics.jsonl)")->required();
  cmd->add_option("--steps", opt.steps, "Optimizer steps")->capture_default_str();
  cmd->add_option("--batch", opt.batch, "Rows per micro-batch")->capture_default_str();
  cmd->add_option("--grad-accum", opt.grad_accum, "Micro-batches per optimizer step")
      ->capture_default_str();
  cmd->add_option("--lr", opt.lr, "Peak learning rate")->capture_default_str();
  cmd->add_option("--min-lr", opt.min_lr, "Final learning rate (default: lr/10)");
  cmd->add_option("--warmup", opt.warmup, "Warmup steps (default: steps/20)");
  cmd->add_option("--weight-decay", opt.weight_decay, "AdamW weight decay (matmul weights only)")
      ->capture_default_str();
  cmd->add_option("--clip", opt.clip, "Max global gradient norm (0: off)")->capture_default_str();
  cmd->add_option("--eval-every", opt.eval_every, "Held-out evaluation every N steps (0: end only)")
      ->capture_default_str();
  cmd->add_option("--eval-batches", opt.eval_batches, "Held-out batches per evaluation")
      ->capture_default_str();
  cmd->add_option("--save-every", opt.save_every, "Checkpoint every N steps (0: end only)")
      ->capture_default_str();
  cmd->add_option("--heldout-fraction", opt.heldout_fraction,
                  "Fraction of documents (train) or windows (distil) held out for evaluation")
      ->capture_default_str();
  cmd->add_option("--seed", opt.seed, "Seed for initialisation and data order")
      ->capture_default_str();
  cmd->add_option("--precision", opt.precision,
                  "fp32, or bf16: bf16 matmuls (AVX512_BF16) with fp32 master weights, "
                  "accumulation, gradients and optimizer state; a run resumes only in the "
                  "precision it started with")
      ->capture_default_str();
  cmd->add_option("--threads", opt.threads,
                  "Threads (default: every core; resume with the same number for bitwise "
                  "identical results)");
}

nlohmann::json comparison_row(const std::string& name, const train::TrainSummary& s) {
  nlohmann::json r = {{"run", name},
                      {"dir", s.run_dir},
                      {"heldout_nats_per_token", s.heldout_loss},
                      {"heldout_ppl", std::exp(s.heldout_loss)},
                      {"train_loss", s.train_loss},
                      {"tokens", s.tokens},
                      {"steps", s.step},
                      {"wall_seconds", s.wall_seconds},
                      {"params", s.num_params},
                      {"precision", s.precision}};
  for (auto& [k, v] : s.heldout_eval.items()) r[k] = v;
  return r;
}

}  // namespace still::cli
