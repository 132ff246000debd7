// How much a stored signal costs and what it loses. For rows of teacher and student logits:
//   bytes per entry   the compressed shard size per stored (id, log-prob) entry
//   quantisation error mean |KL(p_stored‖q) − KL(p_topk‖q)|: what the codec adds
//   truncation error   mean |KL(p_topk‖q) − KL(p_full‖q)|: what keeping only the top-k loses
// where KL is taken on the top-k ∪ tail support for the stored signals and over the whole
// vocabulary for p_full, and q is the student's distribution.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "still/data/signal_codec.h"

namespace still {

struct SignalQuality {
  int k = 0;
  float logp_step = 0;
  double bytes_per_entry = 0, bytes_per_position = 0;
  double quant_error = 0, trunc_error = 0;  // nats/token
  double kl_full = 0;                       // mean KL(p_full‖q), for scale
};

// teacher/student: [rows, V] logits.
SignalQuality measure_signal_quality(const float* teacher, const float* student, int64_t rows,
                                     int V, int k, float logp_step);

}  // namespace still
