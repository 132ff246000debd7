#include "still/train/metrics_log.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <sstream>

#include "still/io/atomic_file.h"
#include "still/util/error.h"

namespace still::train {

MetricsLog::MetricsLog(const std::string& path, int64_t keep_through_step) : path_(path) {
  std::string kept;
  if (keep_through_step > 0 && file_exists(path)) {
    std::istringstream in(read_file(path));
    std::string line;
    while (std::getline(in, line)) {
      auto j = nlohmann::json::parse(line, nullptr, false);  // a killed write leaves half a line
      if (j.is_object() && j.value("step", int64_t(-1)) >= 0 &&
          j.value("step", int64_t(-1)) <= keep_through_step)
        kept += line + "\n";
    }
  }
  write_file_atomic(path, kept);
  fd_ = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CLOEXEC);
  require(fd_ >= 0, "cannot open " + path + ": " + std::strerror(errno));
}

MetricsLog::~MetricsLog() {
  if (fd_ >= 0) ::close(fd_);
}

void MetricsLog::append(const nlohmann::json& record) {
  std::string line = record.dump() + "\n";
  ssize_t w = ::write(fd_, line.data(), line.size());
  require(w == ssize_t(line.size()), "cannot append to " + path_ + ": " + std::strerror(errno) +
                                         " (disk full?); free space and rerun the same command");
}

}  // namespace still::train
