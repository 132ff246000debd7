// Flags shared by `still train` and `still distil`: the optimiser, schedule, batch shape,
// evaluation and checkpoint cadence, seed and threads.
#pragma once
#include <CLI/CLI.hpp>

#include "still/train/trainer.h"

namespace still::cli {

void add_training_flags(CLI::App* cmd, train::TrainOptions& opt);

}  // namespace still::cli
