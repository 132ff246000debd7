#include "still/train/distil.h"

#include "still/io/atomic_file.h"
#include "still/util/log.h"

namespace still::train {

TrainOptions matched_baseline(const TrainOptions& opt) {
  TrainOptions base = opt;
  base.out = path_join(opt.out, "baseline");
  if (!opt.generated.empty()) {
    base.use_reference = true;
  } else {
    base.loss = "ce";
    base.alpha = 0;
    base.temperature = 1;
  }
  return base;
}

DistilRuns distil_with_baseline(const TrainOptions& opt) {
  DistilRuns runs;
  runs.student = run(opt);
  log_info(opt.generated.empty()
               ? "matched baseline: the same student on the same windows with cross-entropy"
               : "matched baseline: the same student, prompts and steps on the prompts' "
                 "references");
  runs.baseline = run(matched_baseline(opt));
  return runs;
}

}  // namespace still::train
