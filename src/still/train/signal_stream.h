// Training rows for `still distil`: the teacher's own windows (data/signal_dir.h), never
// re-packed, so every stored signal position lines up with the token it was computed for.
//
// A fixed fraction of windows, chosen by a hash of the window index (independent of the
// seed), is held out for evaluation and never trained on. The rest form an endless stream:
// epoch e visits them in an order shuffled by (seed, e); global row g is entry g mod n of
// epoch g / n. The rows of a step therefore depend only on (seed, step), so a resumed run
// reads exactly what an uninterrupted one reads.
#pragma once
#include <cstdint>
#include <map>
#include <vector>

#include "still/data/signal_dir.h"

namespace still::train {

class SignalStream {
 public:
  SignalStream(SignalDir& signal, uint64_t seed, double heldout_fraction);
  // Micro-batch `micro` of optimizer step `step`: B windows and their teacher signal.
  void fill_step(int64_t step, int micro, int accum, int B, Batch& batch, TeacherBuffers& teacher);
  // The window indices fill_step uses.
  std::vector<int64_t> step_windows(int64_t step, int micro, int accum, int B);
  // Held-out windows in index order, as batches of at most B rows (at most max_batches).
  void heldout_batches(int B, int max_batches, std::vector<Batch>& batches,
                       std::vector<TeacherBuffers>& teachers);
  int64_t num_train() const { return int64_t(train_.size()); }
  int64_t num_heldout() const { return int64_t(heldout_.size()); }
  const std::vector<int64_t>& heldout_windows() const { return heldout_; }

 private:
  const std::vector<int64_t>& epoch(int64_t e);
  SignalDir& signal_;
  uint64_t seed_;
  std::vector<int64_t> train_, heldout_;
  std::map<int64_t, std::vector<int64_t>> epochs_;
};

}  // namespace still::train
