// HellaSwag in the shared data's line format: 6 lines per item — context, index of the
// correct ending (0-3), the 4 endings. Scored as lm-eval-harness does: the same text
// preprocessing, each ending scored with a leading space after the context, acc_norm by
// the ending's length in bytes.
//
// The file gives "activity label: ctx_a ctx_b" on one line, already joined; lm-eval builds
// the same string with ctx_b.capitalize(). ActivityNet items keep ctx_b lower-cased
// ("... on a roof. he"), so we capitalize the fragment after the last sentence end when it
// starts in lower case, which reproduces lm-eval's string for those items; WikiHow items
// (empty ctx_b) end in a full sentence and are unchanged.
#pragma once
#include <string>
#include <string_view>
#include <vector>

namespace still::eval {

struct McItem {
  std::string context;
  std::vector<std::string> endings;  // without the leading space
  int label = 0;
};

// lm-eval's HellaSwag preprocess: strip, " [title]" -> ". ", drop "[...]", "  " -> " ".
std::string hellaswag_preprocess(std::string_view text);
// Python's str.capitalize() for ASCII: first letter upper, the rest lower.
std::string python_capitalize(std::string_view s);
// The context line as lm-eval's query: preprocess(label + ": " + ctx_a + " " + ctx_b.capitalize()).
std::string hellaswag_context(std::string_view line);

// Parses the 6-line format; throws still::Error naming `what` and the line on bad input.
std::vector<McItem> parse_hellaswag(const std::string& content, const std::string& what);

}  // namespace still::eval
