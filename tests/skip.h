// Every test that cannot run because something it needs is missing (a reference program,
// shared data, a CPU feature) says so through STILL_SKIP_OR_FAIL: a loud skip on a developer's
// machine, a failure under STILL_STRICT_SKIPS=1 (CI sets it), so CI cannot be green while a
// feature is untested.
#pragma once
#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>
#include <string>

namespace still::testing {

inline bool strict_skips() {
  const char* e = std::getenv("STILL_STRICT_SKIPS");
  return e && *e && std::strcmp(e, "0") != 0;
}

}  // namespace still::testing

// Ends the test: skipped, or failed under STILL_STRICT_SKIPS. `reason` is a std::string
// expression saying what is missing.
#define STILL_SKIP_OR_FAIL(reason)                                              \
  do {                                                                          \
    const std::string still_skip_reason_ = (reason);                            \
    if (::still::testing::strict_skips())                                       \
      GTEST_FAIL() << "STILL_STRICT_SKIPS=1 and " << still_skip_reason_;        \
    else                                                                        \
      GTEST_SKIP() << "\n*** SKIPPED LOUDLY: " << still_skip_reason_ << " ***"; \
  } while (0)
