// `still distil --generated`: sequence-level KD. The student trains with cross-entropy on the
// teacher's samples (prompt tokens masked unless --no-mask-prompt); --baseline trains the same
// student, steps and prompts on the prompts' human "reference" completions into OUT/baseline.
#pragma once
#include <CLI/CLI.hpp>
#include <string>

#include "still/train/trainer.h"

namespace still::cli {

void run_distil_generated(const CLI::App* cmd, train::TrainOptions& opt,
                          const std::string& tokenizer, bool baseline, bool json);

}  // namespace still::cli
