#include "still/train/signal_stream.h"

#include <algorithm>

#include "still/util/error.h"
#include "still/util/rng.h"

namespace still::train {
namespace {
constexpr uint64_t kHeldoutSalt = 0x686f6c646f7574ULL;  // "holdout"
constexpr uint64_t kShuffleSalt = 0x77696e646f7773ULL;  // "windows"
}  // namespace

SignalStream::SignalStream(SignalDir& signal, uint64_t seed, double heldout_fraction)
    : signal_(signal), seed_(seed) {
  require(heldout_fraction >= 0 && heldout_fraction < 1, "--heldout-fraction must be in [0, 1)");
  const int64_t n = signal.meta().num_windows;
  const uint64_t cut = uint64_t(heldout_fraction * 18446744073709551615.0);
  int64_t best = 0;
  uint64_t best_h = UINT64_MAX;
  for (int64_t w = 0; w < n; ++w) {
    uint64_t h = mix_seed(kHeldoutSalt, uint64_t(w));
    if (h < best_h) best_h = h, best = w;
    (heldout_fraction > 0 && h < cut ? heldout_ : train_).push_back(w);
  }
  // Evaluation needs at least one window, training at least one more.
  if (heldout_fraction > 0 && heldout_.empty() && n > 1) {
    heldout_.push_back(best);
    train_.erase(std::find(train_.begin(), train_.end(), best));
  }
  require(!train_.empty(), signal.dir() + " has too few windows to train on after the held-out "
                                          "split; teach a larger corpus");
}

const std::vector<int64_t>& SignalStream::epoch(int64_t e) {
  auto it = epochs_.find(e);
  if (it != epochs_.end()) return it->second;
  if (epochs_.size() >= 3) epochs_.erase(epochs_.begin());
  std::vector<int64_t> order = train_;
  Rng rng(mix_seed(seed_, uint64_t(e), kShuffleSalt));
  for (size_t i = order.size() - 1; i > 0; --i) std::swap(order[i], order[rng.below(i + 1)]);
  return epochs_.emplace(e, std::move(order)).first->second;
}

std::vector<int64_t> SignalStream::step_windows(int64_t step, int micro, int accum, int B) {
  const int64_t n = num_train();
  std::vector<int64_t> ids(static_cast<size_t>(B));
  for (int r = 0; r < B; ++r) {
    int64_t g = (step * accum + micro) * int64_t(B) + r;
    ids[size_t(r)] = epoch(g / n)[size_t(g % n)];
  }
  return ids;
}

void SignalStream::fill_step(int64_t step, int micro, int accum, int B, Batch& batch,
                             TeacherBuffers& teacher) {
  signal_.fill(step_windows(step, micro, accum, B), batch, teacher);
}

void SignalStream::heldout_batches(int B, int max_batches, std::vector<Batch>& batches,
                                   std::vector<TeacherBuffers>& teachers) {
  batches.clear();
  teachers.clear();
  for (size_t i = 0; i < heldout_.size() && int(batches.size()) < max_batches; i += size_t(B)) {
    std::vector<int64_t> ids(heldout_.begin() + long(i),
                             heldout_.begin() + long(std::min(heldout_.size(), i + size_t(B))));
    batches.emplace_back();
    teachers.emplace_back();
    signal_.fill(ids, batches.back(), teachers.back());
  }
}

}  // namespace still::train
