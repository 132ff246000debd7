// Flags shared by `still train` and `still distil`: the optimiser, schedule, batch shape,
// evaluation and checkpoint cadence, seed and threads.
#pragma once
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>
#include <string>

#include "still/train/trainer.h"

namespace still::cli {

void add_training_flags(CLI::App* cmd, train::TrainOptions& opt);

// One run's row of a distil comparison (comparison.json, --json): held-out loss and
// perplexity, training loss, tokens, steps, time, size, precision and the held-out metrics.
nlohmann::json comparison_row(const std::string& name, const train::TrainSummary& s);

}  // namespace still::cli
