// Numbers read from users' JSON files, range-checked before conversion. nlohmann's
// get<int>() of 1e30 (or of any float outside int) is an undefined conversion, which the
// fuzzers' UBSan reports; these helpers refuse such values instead.
#pragma once
#include <cmath>
#include <cstdint>
#include <limits>
#include <nlohmann/json.hpp>
#include <optional>
#include <type_traits>

namespace still {

// `v` as a T, or nullopt when it is not a number T holds exactly: integer T needs a JSON
// integer in T's range, floating T a finite number in T's range.
template <class T>
std::optional<T> json_number_as(const nlohmann::json& v) {
  if constexpr (std::is_integral_v<T>) {
    if (v.is_number_unsigned()) {
      const uint64_t u = v.get<uint64_t>();
      if (u > uint64_t(std::numeric_limits<T>::max())) return std::nullopt;
      return T(u);
    }
    if (!v.is_number_integer()) return std::nullopt;
    const int64_t i = v.get<int64_t>();
    if constexpr (std::is_unsigned_v<T>) {
      if (i < 0 || uint64_t(i) > uint64_t(std::numeric_limits<T>::max())) return std::nullopt;
    } else {
      if (i < int64_t(std::numeric_limits<T>::min()) || i > int64_t(std::numeric_limits<T>::max()))
        return std::nullopt;
    }
    return T(i);
  } else {
    if (!v.is_number()) return std::nullopt;
    const double d = v.get<double>();
    if (!std::isfinite(d) || std::fabs(d) > double(std::numeric_limits<T>::max()))
      return std::nullopt;
    return T(d);
  }
}

// Member `key` of object `j` as a T; `fallback` when absent or null; nullopt when present
// but not a T (the caller names the file in its error).
template <class T>
std::optional<T> json_member_as(const nlohmann::json& j, const char* key, T fallback) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return fallback;
  return json_number_as<T>(*it);
}

}  // namespace still
