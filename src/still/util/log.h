// The one way libstill talks to a person: log lines and progress bars on stderr.
// Nothing below the CLI writes to the terminal except through here.
#pragma once
#include <cstdint>
#include <string>

namespace still {

enum class LogLevel { kQuiet = 0, kInfo = 1, kDebug = 2 };
void set_log_level(LogLevel level);
LogLevel log_level();
void log_info(const std::string& line);
void log_warn(const std::string& line);
void log_debug(const std::string& line);

// A progress bar with rate and ETA. On a terminal it redraws one line; otherwise it
// prints a line at most every few seconds, so logs stay readable.
class Progress {
 public:
  Progress(std::string label, int64_t total, std::string unit);
  ~Progress();
  // `done` counts in `unit`; `status` is appended (e.g. "loss 2.31").
  void update(int64_t done, const std::string& status = "");
  // Rate is measured from this point on (e.g. after a resume, so it isn't inflated).
  void restart_clock(int64_t done);
  void finish(const std::string& status = "");

 private:
  void draw(bool final_line);
  std::string label_, unit_, status_;
  int64_t total_, done_ = 0, start_done_ = 0;
  double start_ = 0, last_draw_ = 0;
  bool tty_, finished_ = false;
};

std::string format_duration(double seconds);   // "1h02m", "3m05s", "12s"
std::string format_count(double n);            // "1.23k", "4.5M"
std::string format_bytes(double bytes);        // "12.3 MiB"

}  // namespace still
