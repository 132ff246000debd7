// Small text helpers shared by the corpus, evaluation-data and other line-oriented readers.
#pragma once
#include <string>
#include <string_view>
#include <vector>

namespace still {

// The lines of `s` split at '\n', each without its '\r' (CRLF files read like LF files). A
// final newline does not start an extra empty line. The views point into `s`.
std::vector<std::string_view> split_lines(std::string_view s);

}  // namespace still
