#include "still/eval/hellaswag.h"

#include "still/util/error.h"
#include "still/util/text.h"

namespace still::eval {
namespace {

bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '\v';
}

// Python's str.replace(from, to): every non-overlapping occurrence, left to right, one pass.
std::string replace_all(std::string_view s, std::string_view from, std::string_view to) {
  std::string out;
  size_t pos = 0;
  while (true) {
    size_t hit = s.find(from, pos);
    if (hit == std::string_view::npos) break;
    out.append(s.substr(pos, hit - pos));
    out.append(to);
    pos = hit + from.size();
  }
  out.append(s.substr(pos));
  return out;
}

}  // namespace

std::string hellaswag_preprocess(std::string_view text) {
  size_t b = 0, e = text.size();
  while (b < e && is_space(text[b])) ++b;
  while (e > b && is_space(text[e - 1])) --e;
  std::string s = replace_all(text.substr(b, e - b), " [title]", ". ");
  // re.sub("\[.*?\]", "", s): shortest bracketed runs, left to right.
  std::string no_brackets;
  for (size_t i = 0; i < s.size();) {
    if (s[i] == '[') {
      size_t close = s.find(']', i + 1);
      if (close != std::string::npos) {
        i = close + 1;
        continue;
      }
    }
    no_brackets += s[i++];
  }
  return replace_all(no_brackets, "  ", " ");
}

std::string python_capitalize(std::string_view s) {
  std::string out(s);
  for (size_t i = 0; i < out.size(); ++i) {
    char c = out[i];
    if (i == 0 && c >= 'a' && c <= 'z') out[i] = char(c - 'a' + 'A');
    if (i > 0 && c >= 'A' && c <= 'Z') out[i] = char(c - 'A' + 'a');
  }
  return out;
}

std::string hellaswag_context(std::string_view line) {
  size_t label_end = line.find(": ");
  size_t body = label_end == std::string_view::npos ? 0 : label_end + 2;
  // ctx_b is the fragment after the last sentence end (or the whole body if none).
  size_t frag = body;
  for (std::string_view end : {". ", "! ", "? "}) {
    size_t p = line.rfind(end);
    if (p != std::string_view::npos && p + 2 > frag && p >= body) frag = p + 2;
  }
  std::string joined(line.substr(0, frag));
  std::string_view tail = line.substr(frag);
  // An unfinished lower-case fragment is ctx_b; a finished sentence belongs to ctx_a.
  bool finished = !tail.empty() && (tail.back() == '.' || tail.back() == '!' || tail.back() == '?');
  if (!tail.empty() && tail[0] >= 'a' && tail[0] <= 'z' && !finished)
    joined += python_capitalize(tail);
  else
    joined += tail;
  return hellaswag_preprocess(joined);
}

std::vector<McItem> parse_hellaswag(const std::string& content, const std::string& what) {
  auto lines = split_lines(content);
  // A final newline leaves no extra line; trailing blank lines are tolerated.
  while (!lines.empty() && lines.back().find_first_not_of(" \t") == std::string_view::npos)
    lines.pop_back();
  require(!lines.empty(), what + ": no HellaSwag items (6 lines each: context, label, 4 endings)");
  std::vector<McItem> items;
  items.reserve(lines.size() / 6);
  for (size_t i = 0; i < lines.size(); i += 6) {
    auto where = [&](size_t k) { return what + " line " + std::to_string(i + k + 1); };
    require(i + 6 <= lines.size(), where(lines.size() - i - 1) + ": the last item is incomplete (" +
                                       std::to_string(lines.size() - i) +
                                       " of 6 lines: context, label, 4 endings)");
    McItem it;
    require(!hellaswag_preprocess(lines[i]).empty(), where(0) + ": empty context");
    it.context = hellaswag_context(lines[i]);
    std::string_view label = lines[i + 1];
    require(label.size() == 1 && label[0] >= '0' && label[0] <= '3',
            where(1) + ": expected the correct ending's index 0-3, got \"" +
                std::string(label.substr(0, 40)) + "\"");
    it.label = label[0] - '0';
    for (size_t k = 2; k < 6; ++k) {
      std::string e = hellaswag_preprocess(lines[i + k]);
      require(!e.empty(), where(k) + ": empty ending");
      it.endings.push_back(std::move(e));
    }
    items.push_back(std::move(it));
  }
  return items;
}

}  // namespace still::eval
