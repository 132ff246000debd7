#include <cstdio>

#include "still/cli/commands.h"
#include "still/train/trainer.h"

namespace still::cli {

void register_train(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "train",
      "Train a Llama-family model from scratch on a text corpus; rerun the same command to "
      "resume after a kill");
  // A flag given twice: the last one wins (so scripts can append overrides).
  cmd->option_defaults()->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  auto opt = std::make_shared<train::TrainOptions>();
  auto json = std::make_shared<bool>(false);
  cmd->add_option("--data", opt->data,
                  "Corpus: .txt (documents separated by blank lines; one per line if there "
                  "are none) or .jsonl (a \"text\" field per line)")
      ->required();
  cmd->add_option("--tokenizer", opt->tokenizer, "Tokenizer file, or 'bytes'")
      ->capture_default_str();
  cmd->add_option("--config", opt->config, "Preset (stories15m, small, tiny) or a JSON config")
      ->required();
  cmd->add_option("--out", opt->out, "Run directory (checkpoints, metrics.jsonl)")->required();
  cmd->add_option("--steps", opt->steps, "Optimizer steps")->capture_default_str();
  cmd->add_option("--batch", opt->batch, "Rows per micro-batch")->capture_default_str();
  cmd->add_option("--seq", opt->seq, "Tokens per row (default: the config's max_seq)");
  cmd->add_option("--grad-accum", opt->grad_accum, "Micro-batches per optimizer step")
      ->capture_default_str();
  cmd->add_option("--lr", opt->lr, "Peak learning rate")->capture_default_str();
  cmd->add_option("--min-lr", opt->min_lr, "Final learning rate (default: lr/10)");
  cmd->add_option("--warmup", opt->warmup, "Warmup steps (default: steps/20)");
  cmd->add_option("--weight-decay", opt->weight_decay, "AdamW weight decay (matmul weights only)")
      ->capture_default_str();
  cmd->add_option("--clip", opt->clip, "Max global gradient norm (0: off)")->capture_default_str();
  cmd->add_option("--eval-every", opt->eval_every,
                  "Held-out evaluation every N steps (0: end only)")
      ->capture_default_str();
  cmd->add_option("--eval-batches", opt->eval_batches, "Held-out batches per evaluation")
      ->capture_default_str();
  cmd->add_option("--save-every", opt->save_every, "Checkpoint every N steps (0: end only)")
      ->capture_default_str();
  cmd->add_option("--heldout-fraction", opt->heldout_fraction,
                  "Fraction of documents held out for evaluation")
      ->capture_default_str();
  cmd->add_option("--seed", opt->seed, "Seed for initialisation and data order")
      ->capture_default_str();
  cmd->add_option("--threads", opt->threads,
                  "Threads (default: every core; resume with the same number for bitwise "
                  "identical results)");
  cmd->add_flag("--json", *json, "Print a JSON summary on stdout");
  cmd->callback([opt, json] {
    auto s = train::run(*opt);
    if (*json) std::printf("%s\n", s.to_json().dump(2).c_str());
  });
}

}  // namespace still::cli
