// Each subcommand lives in its own file and registers itself on the root app here.
// A command's core is a libstill function; these files only parse flags and print.
#pragma once
#include <CLI/CLI.hpp>

namespace still::cli {

// Exit codes that mean something to scripts.
enum ExitCode : int {
  kOk = 0,
  kError = 1,       // still::Error: bad input, failed check, I/O failure
  kUsage = 2,       // bad flags
  kInterrupted = 130,
};

void register_version(CLI::App& app);
void register_eval(CLI::App& app);
void register_report(CLI::App& app);
void register_teach(CLI::App& app);
void register_distil(CLI::App& app);
void register_split(CLI::App& app);
void register_demo(CLI::App& app);
void register_inspect(CLI::App& app);
void register_export(CLI::App& app);
void register_train(CLI::App& app);
void register_generate(CLI::App& app);
void register_tokenize(CLI::App& app);  // tokenize, tokenizer train

}  // namespace still::cli
