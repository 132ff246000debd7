// A borrowed view of the stored top-k teacher signal for the rows of a batch: what signal
// files hold and the KD loss reads (kd_loss.h explains the distribution it stands for).
#pragma once
#include <cstdint>

namespace still {

// The teacher signal for the rows of a batch, row-major [rows, k]. Entries are sorted by
// log-probability descending (ties by id). A row whose ids[row·k] is −1 has no signal.
struct TeacherRows {
  int k = 0;
  const int32_t* ids = nullptr;
  const float* logp = nullptr;      // [rows, k], natural log, T = 1
  const float* log_tail = nullptr;  // [rows]
  int teacher_vocab = 0;            // V of the teacher: the tail has teacher_vocab − k tokens
};

}  // namespace still
