// A distillation run and its matched baseline, the comparison `still distil --baseline` and
// the demo make: the same student, data, steps and seed trained once with the teacher and
// once without it, the baseline into OUT/baseline.
#pragma once
#include "still/train/trainer.h"

namespace still::train {

struct DistilRuns {
  TrainSummary student, baseline;
};

// The baseline's options: for a top-k signal, cross-entropy on the same windows; for
// generations (sequence-level KD), the prompts' human references instead of the teacher's
// samples.
TrainOptions matched_baseline(const TrainOptions& opt);

// train::run(opt), then train::run(matched_baseline(opt)); both resume when rerun.
DistilRuns distil_with_baseline(const TrainOptions& opt);

}  // namespace still::train
