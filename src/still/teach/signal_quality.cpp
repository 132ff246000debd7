#include "still/teach/signal_quality.h"

#include <unistd.h>

#include <cmath>
#include <filesystem>

#include "still/data/signal_shard.h"
#include "still/io/atomic_file.h"
#include "still/data/signal_shard.h"
#include "still/util/log_softmax.h"
#include "still/model/kd_loss.h"
#include "still/teach/topk_collector.h"

namespace still {

SignalQuality measure_signal_quality(const float* teacher, const float* student, int64_t rows,
                                     int V, int k, float logp_step) {
  SignalQuality q;
  q.k = k;
  q.logp_step = logp_step;
  std::vector<int32_t> ids(size_t(rows) * k), scratch;
  std::vector<float> logp(size_t(rows) * k), tail(static_cast<size_t>(rows));
  for (int64_t r = 0; r < rows; ++r)
    TopKRow::extract(teacher + r * V, V, k, &ids[size_t(r) * k], &logp[size_t(r) * k],
                     &tail[size_t(r)], scratch);
  // Size: a real shard file (zstd, index, hash), as `still teach` writes it.
  std::string tmp = (std::filesystem::temp_directory_path() /
                     ("still-quality-" + std::to_string(::getpid()) + ".sig"))
                        .string();
  SignalShardInfo info;
  info.k = k;
  info.vocab = V;
  info.positions = rows;
  info.quant.logp_step = logp_step;
  write_signal_shard(tmp, info, ids.data(), logp.data(), tail.data());
  std::vector<int32_t> ids2(ids.size());
  std::vector<float> logp2(logp.size()), tail2(tail.size());
  {
    SignalShard shard(tmp);
    q.bytes_per_position = double(shard.file_bytes()) / double(rows);
    q.bytes_per_entry = q.bytes_per_position / k;
    shard.read(0, rows, ids2.data(), logp2.data(), tail2.data());
  }
  std::filesystem::remove(tmp);

  KdOptions fkl = KdOptions::parse("fkl", 1, 1);
  double qe = 0, te = 0, kf = 0;
  for (int64_t r = 0; r < rows; ++r) {
    const float* z = student + r * V;
    const float* t = teacher + r * V;
    double kl_topk = kd_row(z, V, &ids[size_t(r) * k], &logp[size_t(r) * k], tail[size_t(r)], k, V,
                            -1, fkl, nullptr, 1)
                         .kl;
    double kl_stored = kd_row(z, V, &ids2[size_t(r) * k], &logp2[size_t(r) * k], tail2[size_t(r)],
                              k, V, -1, fkl, nullptr, 1)
                           .kl;
    // Full-vocabulary KL(p‖q).
    double lt = log_sum_exp(t, V), lz = log_sum_exp(z, V), kl_full = 0;
    for (int j = 0; j < V; ++j) {
      double lp = t[j] - lt;
      kl_full += std::exp(lp) * (lp - (z[j] - lz));
    }
    qe += std::abs(kl_stored - kl_topk);
    te += std::abs(kl_topk - kl_full);
    kf += kl_full;
  }
  q.quant_error = qe / double(rows);
  q.trunc_error = te / double(rows);
  q.kl_full = kf / double(rows);
  return q;
}

}  // namespace still
