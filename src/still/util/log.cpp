#include "still/util/log.h"

#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <mutex>

namespace still {
namespace {
LogLevel g_level = LogLevel::kInfo;
std::mutex g_mu;
double now() {
  using namespace std::chrono;
  return duration<double>(steady_clock::now().time_since_epoch()).count();
}
}  // namespace

void set_log_level(LogLevel level) { g_level = level; }
LogLevel log_level() { return g_level; }

void log_info(const std::string& line) {
  if (g_level < LogLevel::kInfo) return;
  std::lock_guard<std::mutex> lk(g_mu);
  std::fprintf(stderr, "%s\n", line.c_str());
}
void log_warn(const std::string& line) {
  std::lock_guard<std::mutex> lk(g_mu);
  std::fprintf(stderr, "warning: %s\n", line.c_str());
}
void log_debug(const std::string& line) {
  if (g_level < LogLevel::kDebug) return;
  std::lock_guard<std::mutex> lk(g_mu);
  std::fprintf(stderr, "debug: %s\n", line.c_str());
}

std::string format_duration(double s) {
  if (!std::isfinite(s) || s < 0) return "?";
  char buf[32];
  long t = long(s + 0.5);
  if (t >= 3600)
    std::snprintf(buf, sizeof buf, "%ldh%02ldm", t / 3600, (t % 3600) / 60);
  else if (t >= 60)
    std::snprintf(buf, sizeof buf, "%ldm%02lds", t / 60, t % 60);
  else
    std::snprintf(buf, sizeof buf, "%lds", t);
  return buf;
}

std::string format_count(double n) {
  char buf[32];
  if (n >= 1e9) std::snprintf(buf, sizeof buf, "%.2fG", n / 1e9);
  else if (n >= 1e6) std::snprintf(buf, sizeof buf, "%.2fM", n / 1e6);
  else if (n >= 1e3) std::snprintf(buf, sizeof buf, "%.2fk", n / 1e3);
  else std::snprintf(buf, sizeof buf, "%.0f", n);
  return buf;
}

std::string format_bytes(double b) {
  char buf[32];
  if (b >= 1024.0 * 1024 * 1024) std::snprintf(buf, sizeof buf, "%.2f GiB", b / (1024.0 * 1024 * 1024));
  else if (b >= 1024.0 * 1024) std::snprintf(buf, sizeof buf, "%.1f MiB", b / (1024.0 * 1024));
  else if (b >= 1024.0) std::snprintf(buf, sizeof buf, "%.1f KiB", b / 1024.0);
  else std::snprintf(buf, sizeof buf, "%.0f B", b);
  return buf;
}

Progress::Progress(std::string label, int64_t total, std::string unit)
    : label_(std::move(label)), unit_(std::move(unit)), total_(total) {
  tty_ = isatty(STDERR_FILENO);
  start_ = now();
  last_draw_ = 0;
}

Progress::~Progress() {
  if (!finished_ && tty_ && g_level >= LogLevel::kInfo && done_ > 0) std::fprintf(stderr, "\n");
}

void Progress::restart_clock(int64_t done) {
  start_ = now();
  start_done_ = done;
  done_ = done;
}

void Progress::update(int64_t done, const std::string& status) {
  done_ = done;
  status_ = status;
  double t = now();
  double interval = tty_ ? 0.1 : 5.0;
  if (t - last_draw_ >= interval) {
    last_draw_ = t;
    draw(false);
  }
}

void Progress::finish(const std::string& status) {
  if (!status.empty()) status_ = status;
  draw(true);
  finished_ = true;
}

void Progress::draw(bool final_line) {
  if (g_level < LogLevel::kInfo) return;
  double elapsed = now() - start_;
  double rate = elapsed > 0 ? double(done_ - start_done_) / elapsed : 0;
  double eta = rate > 0 ? double(total_ - done_) / rate : NAN;
  char bar[32];
  int width = 20;
  int filled = total_ > 0 ? int(double(width) * double(done_) / double(total_)) : 0;
  if (filled > width) filled = width;
  for (int i = 0; i < width; ++i) bar[i] = i < filled ? '#' : '-';
  bar[width] = 0;
  char line[512];
  std::snprintf(line, sizeof line, "%s [%s] %lld/%lld %s | %s %s/s | %s %s %s%s", label_.c_str(), bar,
                (long long)done_, (long long)total_, unit_.c_str(), format_count(rate).c_str(),
                unit_.c_str(), final_line ? "took" : "ETA",
                format_duration(final_line ? elapsed : eta).c_str(),
                status_.empty() ? "" : "| ", status_.c_str());
  std::lock_guard<std::mutex> lk(g_mu);
  if (tty_)
    std::fprintf(stderr, "\r\033[K%s%s", line, final_line ? "\n" : "");
  else
    std::fprintf(stderr, "%s\n", line);
  std::fflush(stderr);
}

}  // namespace still
