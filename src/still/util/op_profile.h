// Opt-in time accounting per engine op (STILL_PROFILE=1 in the environment). Each
// STILL_OP_SCOPE("name") adds the wall time and the process CPU time (all threads) of its
// scope to the op's total, and STILL_OP_SCOPE_FLOPS("name", flops) also the work done, for a
// rate; with the variable unset a scope costs one predictable branch. Scopes sit around whole
// ops, outside parallel regions (called from one thread), so the totals are plain sums. CPU
// time is what a loaded, shared machine distorts least. bench/engine_step prints the table;
// nothing here writes to the terminal.
#pragma once
#include <chrono>
#include <string>
#include <vector>

namespace still {

struct OpTime {
  std::string name;
  double seconds = 0, cpu_seconds = 0, flops = 0;
  int64_t calls = 0;
};

bool op_profile_enabled();
double process_cpu_now();  // seconds of CPU used by all threads of this process
void op_profile_add(const char* name, double seconds, double cpu_seconds, double flops);
// Totals in first-seen order since the last reset.
std::vector<OpTime> op_profile_totals();
void op_profile_reset();

class OpScope {
 public:
  explicit OpScope(const char* name, double flops = 0)
      : name_(op_profile_enabled() ? name : nullptr), flops_(flops) {
    if (!name_) return;
    t0_ = std::chrono::steady_clock::now();
    cpu0_ = process_cpu_now();
  }
  ~OpScope() {
    if (!name_) return;
    const double cpu = process_cpu_now() - cpu0_;
    op_profile_add(name_,
                   std::chrono::duration<double>(std::chrono::steady_clock::now() - t0_).count(),
                   cpu, flops_);
  }
  OpScope(const OpScope&) = delete;
  OpScope& operator=(const OpScope&) = delete;

 private:
  const char* name_;
  double flops_, cpu0_ = 0;
  std::chrono::steady_clock::time_point t0_;
};

}  // namespace still

#define STILL_OP_CAT2(a, b) a##b
#define STILL_OP_CAT(a, b) STILL_OP_CAT2(a, b)
#define STILL_OP_SCOPE(name) ::still::OpScope STILL_OP_CAT(still_op_scope_, __LINE__)(name)
#define STILL_OP_SCOPE_FLOPS(name, flops) \
  ::still::OpScope STILL_OP_CAT(still_op_scope_, __LINE__)(name, flops)
// Runs one statement (an op) under a named time scope; STILL_MM also counts its model FLOPs.
#define STILL_OP(name, ...) \
  do {                      \
    STILL_OP_SCOPE(name);   \
    __VA_ARGS__;            \
  } while (0)
#define STILL_MM(name, flops, ...)     \
  do {                                 \
    STILL_OP_SCOPE_FLOPS(name, flops); \
    __VA_ARGS__;                       \
  } while (0)
