#include <cstdio>

#include "still/cli/commands.h"
#include "still/cli/train_flags.h"
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
  cmd->add_option("--seq", opt->seq, "Tokens per row (default: the config's max_seq)");
  add_training_flags(cmd, *opt);
  cmd->add_flag("--json", *json, "Print a JSON summary on stdout");
  cmd->callback([opt, json] {
    auto s = train::run(*opt);
    if (*json) std::printf("%s\n", s.to_json().dump(2).c_str());
  });
}

}  // namespace still::cli
