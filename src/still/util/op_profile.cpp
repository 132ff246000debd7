#include "still/util/op_profile.h"

#include <cstdlib>
#include <cstring>
#include <ctime>

namespace still {

namespace {

std::vector<OpTime>& table() {
  static std::vector<OpTime> t;
  return t;
}

}  // namespace

bool op_profile_enabled() {
  static const bool on = [] {
    const char* v = std::getenv("STILL_PROFILE");
    return v && *v && std::strcmp(v, "0") != 0;
  }();
  return on;
}

double process_cpu_now() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return double(ts.tv_sec) + 1e-9 * double(ts.tv_nsec);
}

void op_profile_add(const char* name, double seconds, double cpu_seconds, double flops) {
  for (auto& e : table())
    if (e.name == name) {
      e.seconds += seconds;
      e.cpu_seconds += cpu_seconds;
      e.flops += flops;
      ++e.calls;
      return;
    }
  table().push_back({name, seconds, cpu_seconds, flops, 1});
}

std::vector<OpTime> op_profile_totals() { return table(); }

void op_profile_reset() { table().clear(); }

}  // namespace still
