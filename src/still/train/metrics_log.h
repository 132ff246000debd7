// runs/x/metrics.jsonl: one JSON object per optimizer step (step, lr, loss, grad norm,
// held-out loss, tokens/s). Lines are appended with one write(2) each; on resume the file
// is first cut back to the checkpoint's step, so it never holds steps twice.
#pragma once
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

namespace still::train {

class MetricsLog {
 public:
  // Opens `path`, keeping only the well-formed lines whose "step" is <= keep_through_step
  // (pass 0 for a fresh run: the file starts empty).
  MetricsLog(const std::string& path, int64_t keep_through_step);
  ~MetricsLog();
  MetricsLog(const MetricsLog&) = delete;
  MetricsLog& operator=(const MetricsLog&) = delete;

  void append(const nlohmann::json& record);

 private:
  std::string path_;
  int fd_ = -1;
};

}  // namespace still::train
