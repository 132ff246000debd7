// still::Error — the one exception type of libstill. Its message says what failed
// and, where we know it, what the user should do; the CLI prints it on one line.
#pragma once
#include <stdexcept>
#include <string>

namespace still {

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& what) : std::runtime_error(what) {}
};

// Throws still::Error when `cond` is false. Use for checks on user input and files;
// use assert() for internal invariants.
inline void require(bool cond, const std::string& message) {
  if (!cond) throw Error(message);
}

}  // namespace still
