// A training/eval batch: B rows of T tokens. Documents are packed into rows; `positions`
// restarts at 0 where a document starts, which both resets RoPE positions and stops
// attention from crossing the boundary (token i sees j iff i - positions[i] <= j <= i).
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

namespace still {

struct Batch {
  int B = 0, T = 0;
  std::vector<int32_t> tokens;     // [B*T] input ids
  std::vector<int32_t> targets;    // [B*T] next-token ids; -1 = not scored (loss mask)
  std::vector<int32_t> positions;  // [B*T] position within its document

  void resize(int b, int t) {
    B = b;
    T = t;
    tokens.assign(size_t(b) * t, 0);
    targets.assign(size_t(b) * t, -1);
    positions.assign(size_t(b) * t, 0);
  }
  int64_t num_scored() const {
    int64_t n = 0;
    for (auto t : targets) n += t >= 0;
    return n;
  }
};

// Sum of per-token losses over scored targets, and how many there were.
struct LossStats {
  double loss_sum = 0;
  int64_t count = 0;
  double mean() const { return count ? loss_sum / double(count) : 0.0; }
  LossStats& operator+=(const LossStats& o) {
    loss_sum += o.loss_sum;
    count += o.count;
    return *this;
  }
};

}  // namespace still
