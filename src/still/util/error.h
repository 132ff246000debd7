// still::Error — the one exception type of libstill. Its message says what failed
// and, where we know it, what the user should do; the CLI prints it on one line.
#pragma once
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>

namespace still {

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& what) : std::runtime_error(what) {}
};

namespace detail {

inline void append_part(std::string& s, std::string_view part) { s += part; }
inline void append_part(std::string& s, char part) { s += part; }
template <class T>
  requires std::is_arithmetic_v<T>
void append_part(std::string& s, T part) {
  s += std::to_string(part);
}
// A callable part (a lambda returning a string) is called only when the check fails.
template <class F>
  requires std::is_invocable_r_v<std::string, const F&>
void append_part(std::string& s, const F& part) {
  s += part();
}

// Out of line of the check so the passing path stays a compare and a branch.
template <class... Parts>
[[noreturn, gnu::cold, gnu::noinline]] void fail(const Parts&... parts) {
  std::string message;
  (append_part(message, parts), ...);
  throw Error(message);
}

}  // namespace detail

// Throws still::Error when `cond` is false. Use for checks on user input and files;
// use assert() for internal invariants. The message is the concatenation of `parts`
// (strings, string literals, numbers, lambdas returning a string), built only when the
// check fails: hot loops pass the pieces, not a prebuilt std::string.
template <class... Parts>
  requires(sizeof...(Parts) > 0)
inline void require(bool cond, const Parts&... parts) {
  if (!cond) [[unlikely]]
    detail::fail(parts...);
}

}  // namespace still
