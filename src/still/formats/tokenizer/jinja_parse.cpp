// Jinja lexer and parser: template text -> syntax tree. Whitespace handling follows
// transformers' environment (trim_blocks, lstrip_blocks) plus "-" markers.
#include <cctype>

#include "still/formats/tokenizer/jinja_ast.h"
#include "still/util/error.h"

namespace still::jinja {
namespace {

[[noreturn]] void fail(int line, const std::string& what) {
  throw Error("chat template line " + std::to_string(line) + ": " + what);
}

// ---- Template-level lexing: text and tags ----

struct Segment {
  enum Type { kText, kVar, kStmt } type;
  std::string body;
  int line;
};

std::vector<Segment> split_template(const std::string& src) {
  std::vector<Segment> out;
  size_t pos = 0;
  int line = 1;
  bool strip_next = false;  // previous tag ended with "-"
  auto count_lines = [&](size_t from, size_t to) {
    for (size_t i = from; i < to; ++i) line += src[i] == '\n';
  };
  while (pos <= src.size()) {
    size_t open = src.find('{', pos);
    while (open != std::string::npos && open + 1 < src.size() && src[open + 1] != '{' &&
           src[open + 1] != '%' && src[open + 1] != '#')
      open = src.find('{', open + 1);
    if (open != std::string::npos && open + 1 >= src.size()) open = std::string::npos;
    std::string text = src.substr(pos, open == std::string::npos ? std::string::npos : open - pos);
    int text_line = line;
    count_lines(pos, open == std::string::npos ? src.size() : open);
    if (strip_next) {
      size_t k = 0;
      while (k < text.size() && std::isspace(uint8_t(text[k]))) ++k;
      text.erase(0, k);
      strip_next = false;
    }
    if (open == std::string::npos) {
      if (!text.empty()) out.push_back({Segment::kText, text, text_line});
      break;
    }
    char kind = src[open + 1];
    size_t body_start = open + 2;
    bool minus_left = body_start < src.size() && src[body_start] == '-';
    bool plus_left = body_start < src.size() && src[body_start] == '+';
    if (minus_left || plus_left) ++body_start;
    if (minus_left) {
      while (!text.empty() && std::isspace(uint8_t(text.back()))) text.pop_back();
    } else if (!plus_left && kind != '{') {
      // lstrip_blocks: drop spaces and tabs between the line start and a block tag.
      size_t nl = text.find_last_of('\n');
      size_t from = nl == std::string::npos ? 0 : nl + 1;
      bool blank = text.find_first_not_of(" \t", from) == std::string::npos;
      bool line_start = nl != std::string::npos || pos == 0 || src[pos - 1] == '\n';
      if (blank && line_start) text.erase(from);
    }
    if (!text.empty()) out.push_back({Segment::kText, text, text_line});
    // Find the closing delimiter, skipping string literals inside expressions.
    const char* close = kind == '{' ? "}}" : kind == '%' ? "%}" : "#}";
    size_t i = body_start;
    char quote = 0;
    size_t end = std::string::npos;
    for (; i + 1 < src.size(); ++i) {
      char c = src[i];
      if (kind != '#' && quote) {
        if (c == '\\')
          ++i;
        else if (c == quote)
          quote = 0;
        continue;
      }
      if (kind != '#' && (c == '\'' || c == '"')) {
        quote = c;
        continue;
      }
      if (c == close[0] && src[i + 1] == close[1]) {
        end = i;
        break;
      }
    }
    if (end == std::string::npos) fail(line, std::string("unclosed '{") + kind + "' tag");
    size_t body_end = end;
    bool minus_right = body_end > body_start && src[body_end - 1] == '-';
    bool plus_right = body_end > body_start && src[body_end - 1] == '+';
    if (minus_right || plus_right) --body_end;
    std::string body = src.substr(body_start, body_end - body_start);
    int tag_line = line;
    count_lines(open, end + 2);
    pos = end + 2;
    if (minus_right)
      strip_next = true;
    else if (!plus_right && kind != '{' && pos < src.size() && src[pos] == '\n') {
      ++pos;  // trim_blocks: the first newline after a block tag goes
      ++line;
    }
    if (kind == '#') continue;
    out.push_back({kind == '{' ? Segment::kVar : Segment::kStmt, body, tag_line});
  }
  return out;
}

// ---- Expression tokens ----

struct Tok {
  enum Type { kName, kString, kInt, kFloat, kOp, kEnd } type;
  std::string text;
  Json value;
};

std::vector<Tok> lex_expr(const std::string& s, int line) {
  std::vector<Tok> out;
  size_t i = 0;
  while (i < s.size()) {
    char c = s[i];
    if (std::isspace(uint8_t(c))) {
      ++i;
      continue;
    }
    if (std::isalpha(uint8_t(c)) || c == '_') {
      size_t j = i;
      while (j < s.size() && (std::isalnum(uint8_t(s[j])) || s[j] == '_')) ++j;
      out.push_back({Tok::kName, s.substr(i, j - i), nullptr});
      i = j;
    } else if (std::isdigit(uint8_t(c))) {
      size_t j = i;
      while (j < s.size() && (std::isdigit(uint8_t(s[j])) || s[j] == '_')) ++j;
      bool is_float = j + 1 < s.size() && s[j] == '.' && std::isdigit(uint8_t(s[j + 1]));
      if (is_float) {
        ++j;
        while (j < s.size() && std::isdigit(uint8_t(s[j]))) ++j;
      }
      std::string num = s.substr(i, j - i);
      std::erase(num, '_');
      if (is_float)
        out.push_back({Tok::kFloat, num, std::stod(num)});
      else
        out.push_back({Tok::kInt, num, Json(std::stoll(num))});
      i = j;
    } else if (c == '\'' || c == '"') {
      std::string val;
      size_t j = i + 1;
      for (; j < s.size() && s[j] != c; ++j) {
        if (s[j] != '\\' || j + 1 >= s.size()) {
          val += s[j];
          continue;
        }
        char e = s[++j];
        switch (e) {
          case 'n':
            val += '\n';
            break;
          case 't':
            val += '\t';
            break;
          case 'r':
            val += '\r';
            break;
          case '\\':
            val += '\\';
            break;
          case '\'':
            val += '\'';
            break;
          case '"':
            val += '"';
            break;
          default:
            val += '\\';
            val += e;
        }
      }
      if (j >= s.size()) fail(line, "unterminated string literal");
      out.push_back({Tok::kString, val, Json(val)});
      i = j + 1;
    } else {
      static const char* const ops[] = {"==", "!=", "<=", ">=", "//", "**", "<", ">", "+",
                                        "-",  "*",  "/",  "%",  "~",  "|",  ".", ",", ":",
                                        "(",  ")",  "[",  "]",  "{",  "}",  "="};
      bool found = false;
      for (const char* op : ops) {
        size_t n = std::char_traits<char>::length(op);
        if (s.compare(i, n, op) == 0) {
          out.push_back({Tok::kOp, op, nullptr});
          i += n;
          found = true;
          break;
        }
      }
      if (!found) fail(line, std::string("unexpected character '") + c + "' in expression");
    }
  }
  out.push_back({Tok::kEnd, "", nullptr});
  return out;
}

// ---- Expression parser ----

class ExprParser {
 public:
  ExprParser(std::vector<Tok> toks, int line) : t_(std::move(toks)), line_(line) {}

  NodePtr expression() {
    NodePtr value = or_expr();
    if (is_name("if")) {
      ++p_;
      auto n = make(Kind::kTernary);
      n->a = std::move(value);
      n->b = or_expr();
      if (is_name("else")) {
        ++p_;
        n->c = expression();
      }
      return n;
    }
    return value;
  }

  // An expression without a trailing "x if c else y" (for-loop iterables, whose "if" filters).
  NodePtr condition_free() { return or_expr(); }

  // Comma-separated expressions; more than one makes a tuple (a list).
  NodePtr tuple_or_expression() {
    NodePtr first = expression();
    if (!is_op(",")) return first;
    auto list = make(Kind::kList);
    list->children.push_back(std::move(first));
    while (accept_op(",")) {
      if (at_end()) break;
      list->children.push_back(expression());
    }
    return list;
  }

  bool at_end() const { return t_[p_].type == Tok::kEnd; }
  bool is_name(const char* n) const { return t_[p_].type == Tok::kName && t_[p_].text == n; }
  bool is_op(const char* o) const { return t_[p_].type == Tok::kOp && t_[p_].text == o; }
  bool accept_op(const char* o) {
    if (!is_op(o)) return false;
    ++p_;
    return true;
  }
  void expect_op(const char* o) {
    if (!accept_op(o))
      fail(line_, std::string("expected '") + o + "' but found '" + t_[p_].text + "'");
  }
  std::string name() {
    if (t_[p_].type != Tok::kName) fail(line_, "expected a name but found '" + t_[p_].text + "'");
    return t_[p_++].text;
  }
  void expect_name(const char* n) {
    if (!is_name(n))
      fail(line_, std::string("expected '") + n + "' but found '" + t_[p_].text + "'");
    ++p_;
  }
  void expect_end() {
    if (!at_end()) fail(line_, "unexpected '" + t_[p_].text + "' at the end of a tag");
  }

 private:
  NodePtr make(Kind k) { return std::make_unique<Node>(k, line_); }
  NodePtr binary(const std::string& op, NodePtr a, NodePtr b) {
    auto n = make(Kind::kBinary);
    n->str = op;
    n->a = std::move(a);
    n->b = std::move(b);
    return n;
  }

  NodePtr or_expr() {
    NodePtr l = and_expr();
    while (is_name("or")) {
      ++p_;
      l = binary("or", std::move(l), and_expr());
    }
    return l;
  }
  NodePtr and_expr() {
    NodePtr l = not_expr();
    while (is_name("and")) {
      ++p_;
      l = binary("and", std::move(l), not_expr());
    }
    return l;
  }
  NodePtr not_expr() {
    if (is_name("not")) {
      ++p_;
      auto n = make(Kind::kUnary);
      n->str = "not";
      n->a = not_expr();
      return n;
    }
    return compare();
  }
  NodePtr compare() {
    NodePtr l = concat();
    for (;;) {
      static const char* const cmp[] = {"==", "!=", "<=", ">=", "<", ">"};
      bool matched = false;
      for (const char* op : cmp)
        if (is_op(op)) {
          ++p_;
          l = binary(op, std::move(l), concat());
          matched = true;
          break;
        }
      if (matched) continue;
      if (is_name("in")) {
        ++p_;
        l = binary("in", std::move(l), concat());
      } else if (is_name("not") && t_[p_ + 1].type == Tok::kName && t_[p_ + 1].text == "in") {
        p_ += 2;
        l = binary("not in", std::move(l), concat());
      } else {
        return l;
      }
    }
  }
  NodePtr concat() {
    NodePtr l = additive();
    while (accept_op("~")) l = binary("~", std::move(l), additive());
    return l;
  }
  NodePtr additive() {
    NodePtr l = multiplicative();
    for (;;) {
      if (accept_op("+"))
        l = binary("+", std::move(l), multiplicative());
      else if (accept_op("-"))
        l = binary("-", std::move(l), multiplicative());
      else
        return l;
    }
  }
  NodePtr multiplicative() {
    NodePtr l = unary();
    for (;;) {
      if (accept_op("*"))
        l = binary("*", std::move(l), unary());
      else if (accept_op("//"))
        l = binary("//", std::move(l), unary());
      else if (accept_op("/"))
        l = binary("/", std::move(l), unary());
      else if (accept_op("%"))
        l = binary("%", std::move(l), unary());
      else
        return l;
    }
  }
  NodePtr unary() {
    if (is_op("-") || is_op("+")) {
      auto n = make(Kind::kUnary);
      n->str = t_[p_++].text;
      n->a = unary();
      return n;
    }
    return filtered(postfix(primary()));
  }
  NodePtr filtered(NodePtr v) {
    for (;;) {
      if (accept_op("|")) {
        auto f = make(Kind::kFilter);
        f->str = name();
        f->a = std::move(v);
        if (is_op("(")) call_args(*f);
        v = postfix(std::move(f));
      } else if (is_name("is")) {
        ++p_;
        auto t = make(Kind::kTest);
        if (is_name("not")) {
          ++p_;
          t->negate = true;
        }
        t->str = name();
        t->a = std::move(v);
        if (is_op("(")) {
          call_args(*t);
        } else if (!at_end() && (t_[p_].type == Tok::kString || t_[p_].type == Tok::kInt ||
                                 t_[p_].type == Tok::kFloat)) {
          t->children.push_back(primary());  // "is equalto 3"
        }
        v = std::move(t);
      } else {
        return v;
      }
    }
  }
  void call_args(Node& n) {
    expect_op("(");
    while (!accept_op(")")) {
      if (t_[p_].type == Tok::kName && t_[p_ + 1].type == Tok::kOp && t_[p_ + 1].text == "=") {
        n.names.push_back(name());
        ++p_;
      } else if (!n.names.empty()) {
        fail(line_, "positional argument after a keyword argument");
      }
      n.children.push_back(expression());
      if (!accept_op(",")) {
        expect_op(")");
        break;
      }
    }
  }
  NodePtr postfix(NodePtr v) {
    for (;;) {
      if (accept_op(".")) {
        auto n = make(Kind::kAttr);
        n->a = std::move(v);
        if (t_[p_].type == Tok::kInt)
          n->str = t_[p_++].text;
        else
          n->str = name();
        v = std::move(n);
      } else if (accept_op("[")) {
        NodePtr start, stop, step;
        if (!is_op(":")) start = expression();
        if (accept_op(":")) {
          auto n = make(Kind::kSlice);
          if (!is_op(":") && !is_op("]")) stop = expression();
          if (accept_op(":") && !is_op("]")) step = expression();
          expect_op("]");
          n->a = std::move(v);
          n->b = std::move(start);
          n->c = std::move(stop);
          n->d = std::move(step);
          v = std::move(n);
        } else {
          expect_op("]");
          auto n = make(Kind::kIndex);
          n->a = std::move(v);
          n->b = std::move(start);
          v = std::move(n);
        }
      } else if (is_op("(")) {
        auto n = make(Kind::kCall);
        n->a = std::move(v);
        call_args(*n);
        v = std::move(n);
      } else {
        return v;
      }
    }
  }
  NodePtr primary() {
    const Tok& t = t_[p_];
    if (t.type == Tok::kString) {
      std::string s;
      while (t_[p_].type == Tok::kString) s += t_[p_++].text;  // adjacent literals join
      auto n = make(Kind::kLiteral);
      n->value = s;
      return n;
    }
    if (t.type == Tok::kInt || t.type == Tok::kFloat) {
      auto n = make(Kind::kLiteral);
      n->value = t.value;
      ++p_;
      return n;
    }
    if (t.type == Tok::kName) {
      ++p_;
      auto n = make(Kind::kLiteral);
      if (t.text == "true" || t.text == "True")
        n->value = true;
      else if (t.text == "false" || t.text == "False")
        n->value = false;
      else if (t.text == "none" || t.text == "None")
        n->value = nullptr;
      else {
        n = make(Kind::kName);
        n->str = t.text;
      }
      return n;
    }
    if (accept_op("(")) {
      NodePtr inner = tuple_or_expression();
      expect_op(")");
      return inner;
    }
    if (accept_op("[")) {
      auto n = make(Kind::kList);
      while (!accept_op("]")) {
        n->children.push_back(expression());
        if (!accept_op(",")) {
          expect_op("]");
          break;
        }
      }
      return n;
    }
    if (accept_op("{")) {
      auto n = make(Kind::kDict);
      while (!accept_op("}")) {
        n->children.push_back(expression());
        expect_op(":");
        n->children.push_back(expression());
        if (!accept_op(",")) {
          expect_op("}");
          break;
        }
      }
      return n;
    }
    if (t.type == Tok::kEnd) fail(line_, "expression ends too early");
    fail(line_, "unexpected '" + t.text + "' in expression");
  }

  std::vector<Tok> t_;
  size_t p_ = 0;
  int line_;
};

// ---- Statement parser ----

class TemplateParser {
 public:
  explicit TemplateParser(std::vector<Segment> segs) : s_(std::move(segs)) {}

  NodePtr parse() {
    std::string stop;
    auto root = block({}, &stop);
    if (!stop.empty()) fail(last_line_, "unexpected {% " + stop + " %}");
    return root;
  }

 private:
  static std::string first_word(const std::string& body) {
    size_t i = 0;
    while (i < body.size() && std::isspace(uint8_t(body[i]))) ++i;
    size_t j = i;
    while (j < body.size() && (std::isalnum(uint8_t(body[j])) || body[j] == '_')) ++j;
    return body.substr(i, j - i);
  }
  static std::string rest_after_word(const std::string& body) {
    size_t i = 0;
    while (i < body.size() && std::isspace(uint8_t(body[i]))) ++i;
    while (i < body.size() && (std::isalnum(uint8_t(body[i])) || body[i] == '_')) ++i;
    return body.substr(i);
  }

  // Parses until one of `stops` (returned in *stop, its tag consumed) or the end.
  NodePtr block(const std::vector<std::string>& stops, std::string* stop) {
    auto blk = std::make_unique<Node>(Kind::kBlock, i_ < s_.size() ? s_[i_].line : 0);
    while (i_ < s_.size()) {
      const Segment& seg = s_[i_];
      last_line_ = seg.line;
      if (seg.type == Segment::kText) {
        auto n = std::make_unique<Node>(Kind::kText, seg.line);
        n->str = seg.body;
        blk->children.push_back(std::move(n));
        ++i_;
        continue;
      }
      if (seg.type == Segment::kVar) {
        ExprParser p(lex_expr(seg.body, seg.line), seg.line);
        auto n = std::make_unique<Node>(Kind::kOutput, seg.line);
        n->a = p.tuple_or_expression();
        p.expect_end();
        blk->children.push_back(std::move(n));
        ++i_;
        continue;
      }
      std::string word = first_word(seg.body);
      for (const auto& s : stops)
        if (word == s) {
          *stop = word;
          return blk;
        }
      ++i_;
      if (word == "if")
        blk->children.push_back(if_stmt(seg));
      else if (word == "for")
        blk->children.push_back(for_stmt(seg));
      else if (word == "set")
        blk->children.push_back(set_stmt(seg));
      else if (word == "break")
        blk->children.push_back(std::make_unique<Node>(Kind::kBreak, seg.line));
      else if (word == "continue")
        blk->children.push_back(std::make_unique<Node>(Kind::kContinue, seg.line));
      else if (word == "elif" || word == "else" || word == "endif" || word == "endfor" ||
               word == "endset") {
        *stop = word;
        --i_;
        return blk;
      } else
        fail(seg.line, "unsupported Jinja statement '{% " + word +
                           " %}' (supported: if/elif/else, for, set, break, continue)");
    }
    *stop = "";
    return blk;
  }

  NodePtr if_stmt(const Segment& seg) {
    auto n = std::make_unique<Node>(Kind::kIf, seg.line);
    std::string cond_src = rest_after_word(seg.body);
    for (;;) {
      ExprParser p(lex_expr(cond_src, seg.line), seg.line);
      auto br = std::make_unique<Node>(Kind::kIfBranch, seg.line);
      br->a = p.expression();
      p.expect_end();
      std::string stop;
      br->b = block({"elif", "else", "endif"}, &stop);
      n->children.push_back(std::move(br));
      if (stop.empty()) fail(seg.line, "{% if %} without {% endif %}");
      const Segment& tag = s_[i_++];
      if (stop == "elif") {
        cond_src = rest_after_word(tag.body);
        continue;
      }
      if (stop == "else") {
        n->b = block({"endif"}, &stop);
        if (stop != "endif") fail(seg.line, "{% if %} without {% endif %}");
        ++i_;
      }
      return n;
    }
  }

  NodePtr for_stmt(const Segment& seg) {
    auto n = std::make_unique<Node>(Kind::kFor, seg.line);
    ExprParser p(lex_expr(rest_after_word(seg.body), seg.line), seg.line);
    n->names.push_back(p.name());
    while (p.accept_op(",")) n->names.push_back(p.name());
    p.expect_name("in");
    n->a = p.condition_free();
    if (p.is_name("if")) {
      p.expect_name("if");
      n->d = p.expression();
    }
    if (p.is_name("recursive")) fail(seg.line, "unsupported Jinja construct 'recursive' loops");
    p.expect_end();
    std::string stop;
    n->b = block({"else", "endfor"}, &stop);
    if (stop.empty()) fail(seg.line, "{% for %} without {% endfor %}");
    ++i_;
    if (stop == "else") {
      n->c = block({"endfor"}, &stop);
      if (stop != "endfor") fail(seg.line, "{% for %} without {% endfor %}");
      ++i_;
    }
    return n;
  }

  NodePtr set_stmt(const Segment& seg) {
    auto n = std::make_unique<Node>(Kind::kSet, seg.line);
    ExprParser p(lex_expr(rest_after_word(seg.body), seg.line), seg.line);
    n->names.push_back(p.name());
    if (p.accept_op("."))
      n->names.push_back(p.name());
    else
      while (p.accept_op(",")) {  // tuple unpacking: names[0..k]
        n->names.push_back(p.name());
        n->negate = true;
      }
    if (p.accept_op("=")) {
      n->a = p.tuple_or_expression();
      p.expect_end();
      return n;
    }
    p.expect_end();
    std::string stop;
    n->b = block({"endset"}, &stop);
    if (stop != "endset") fail(seg.line, "{% set %} block without {% endset %}");
    ++i_;
    return n;
  }

  std::vector<Segment> s_;
  size_t i_ = 0;
  int last_line_ = 0;
};

}  // namespace

NodePtr parse_template(const std::string& source) {
  return TemplateParser(split_template(source)).parse();
}

}  // namespace still::jinja
