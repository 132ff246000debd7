// Jinja evaluator: walks the syntax tree with Python-like values (ordered JSON plus
// "undefined"), the filters, tests and methods chat templates use.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <optional>

#include "still/formats/tokenizer/jinja.h"
#include "still/formats/tokenizer/jinja_ast.h"
#include "still/formats/tokenizer/utf8.h"
#include "still/util/error.h"

namespace still {
namespace jinja {
namespace {

struct Value {
  Json j;
  bool undefined = false;
  Value() : undefined(true) {}
  Value(Json v) : j(std::move(v)), undefined(false) {}  // NOLINT: implicit on purpose
};

[[noreturn]] void fail(const Node& n, const std::string& what) {
  throw Error("chat template line " + std::to_string(n.line) + ": " + what);
}

bool truthy(const Value& v) {
  if (v.undefined) return false;
  const Json& j = v.j;
  if (j.is_null()) return false;
  if (j.is_boolean()) return j.get<bool>();
  if (j.is_number_integer()) return j.get<int64_t>() != 0;
  if (j.is_number()) return j.get<double>() != 0.0;
  if (j.is_string()) return !j.get_ref<const std::string&>().empty();
  return !j.empty();
}

std::string float_str(double d) {
  if (std::isfinite(d) && d == std::floor(d) && std::fabs(d) < 1e16) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.1f", d);
    return buf;
  }
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.17g", d);
  for (int prec = 1; prec <= 17; ++prec) {  // shortest repr that reads back the same
    std::snprintf(buf, sizeof buf, "%.*g", prec, d);
    if (std::strtod(buf, nullptr) == d) break;
  }
  return buf;
}

std::string repr(const Json& j);

// Python str() of a value.
std::string str(const Value& v) {
  if (v.undefined) return "";
  const Json& j = v.j;
  if (j.is_string()) return j.get<std::string>();
  if (j.is_null()) return "None";
  if (j.is_boolean()) return j.get<bool>() ? "True" : "False";
  if (j.is_number_integer()) return std::to_string(j.get<int64_t>());
  if (j.is_number()) return float_str(j.get<double>());
  return repr(j);
}

std::string repr(const Json& j) {
  if (j.is_string()) {
    std::string s = "'";
    for (char c : j.get<std::string>()) {
      if (c == '\'' || c == '\\') s += '\\';
      if (c == '\n') {
        s += "\\n";
        continue;
      }
      s += c;
    }
    return s + "'";
  }
  if (j.is_array()) {
    std::string s = "[";
    for (size_t i = 0; i < j.size(); ++i) s += (i ? ", " : "") + repr(j[i]);
    return s + "]";
  }
  if (j.is_object()) {
    std::string s = "{";
    bool first = true;
    for (auto it = j.begin(); it != j.end(); ++it) {
      s += (first ? "" : ", ") + repr(Json(it.key())) + ": " + repr(it.value());
      first = false;
    }
    return s + "}";
  }
  return str(Value(j));
}

// Python json.dumps(x, ensure_ascii=False) with optional indent.
void dumps(const Json& j, int indent, int depth, std::string& out) {
  auto newline = [&](int d) {
    if (indent < 0) return;
    out += '\n';
    out.append(size_t(indent * d), ' ');
  };
  if (j.is_string()) {
    out += Json(j).dump(-1, ' ', false, Json::error_handler_t::replace);
  } else if (j.is_array()) {
    if (j.empty()) {
      out += "[]";
      return;
    }
    out += '[';
    for (size_t i = 0; i < j.size(); ++i) {
      if (i) out += indent < 0 ? ", " : ",";
      newline(depth + 1);
      dumps(j[i], indent, depth + 1, out);
    }
    newline(depth);
    out += ']';
  } else if (j.is_object()) {
    if (j.empty()) {
      out += "{}";
      return;
    }
    out += '{';
    bool first = true;
    for (auto it = j.begin(); it != j.end(); ++it) {
      if (!first) out += indent < 0 ? ", " : ",";
      first = false;
      newline(depth + 1);
      out += Json(it.key()).dump(-1, ' ', false, Json::error_handler_t::replace) + ": ";
      dumps(it.value(), indent, depth + 1, out);
    }
    newline(depth);
    out += '}';
  } else if (j.is_null()) {
    out += "null";
  } else if (j.is_boolean()) {
    out += j.get<bool>() ? "true" : "false";
  } else if (j.is_number_float()) {
    out += float_str(j.get<double>());
  } else {
    out += j.dump();
  }
}

std::vector<std::string> code_points(const std::string& s) {
  std::vector<std::string> out;
  for (size_t i = 0; i < s.size();) {
    size_t n = utf8::char_len(s, i);
    out.push_back(s.substr(i, n));
    i += n;
  }
  return out;
}

std::string strip_chars(const std::string& s, const std::string& chars, bool left, bool right) {
  size_t b = 0, e = s.size();
  if (left)
    while (b < e && chars.find(s[b]) != std::string::npos) ++b;
  if (right)
    while (e > b && chars.find(s[e - 1]) != std::string::npos) --e;
  return s.substr(b, e - b);
}

const char* const kWhitespace = " \t\n\r\v\f";

struct Args {
  std::vector<Value> pos;
  std::map<std::string, Value> kw;
  Value get(size_t i, const char* name) const {
    if (i < pos.size()) return pos[i];
    auto it = kw.find(name);
    return it == kw.end() ? Value() : it->second;
  }
};

enum class Flow { kNormal, kBreak, kContinue };

class Evaluator {
 public:
  explicit Evaluator(const Json& context) {
    scopes_.push_back(context.is_object() ? context : Json::object());
  }

  Flow exec(const Node& n, std::string& out) {
    switch (n.kind) {
      case Kind::kBlock:
        for (const auto& c : n.children) {
          Flow f = exec(*c, out);
          if (f != Flow::kNormal) return f;
        }
        return Flow::kNormal;
      case Kind::kText:
        out += n.str;
        return Flow::kNormal;
      case Kind::kOutput:
        out += str(eval(*n.a));
        return Flow::kNormal;
      case Kind::kIf:
        for (const auto& br : n.children)
          if (truthy(eval(*br->a))) return exec(*br->b, out);
        return n.b ? exec(*n.b, out) : Flow::kNormal;
      case Kind::kFor:
        return exec_for(n, out);
      case Kind::kSet:
        exec_set(n);
        return Flow::kNormal;
      case Kind::kBreak:
        return Flow::kBreak;
      case Kind::kContinue:
        return Flow::kContinue;
      default:
        fail(n, "internal: expression used as a statement");
    }
  }

 private:
  Value lookup(const std::string& name) const {
    for (auto it = scopes_.rbegin(); it != scopes_.rend(); ++it)
      if (it->contains(name)) return (*it)[name];
    return Value();
  }

  void assign(const std::string& name, Json v) { scopes_.back()[name] = std::move(v); }

  void exec_set(const Node& n) {
    Value v;
    if (n.a) {
      v = eval(*n.a);
    } else {
      std::string body;
      exec(*n.b, body);
      v = Json(body);
    }
    if (n.names.size() == 2 && !n.negate) {  // ns.attr = value
      for (auto it = scopes_.rbegin(); it != scopes_.rend(); ++it)
        if (it->contains(n.names[0])) {
          Json& obj = (*it)[n.names[0]];
          if (!obj.is_object())
            fail(n, "cannot set attribute '" + n.names[1] + "' on " + n.names[0]);
          obj[n.names[1]] = v.undefined ? Json() : v.j;
          return;
        }
      fail(n, "'" + n.names[0] + "' is undefined");
    }
    if (n.names.size() > 1) {  // a, b = tuple
      if (!v.j.is_array() || v.j.size() != n.names.size())
        fail(n, "cannot unpack into " + std::to_string(n.names.size()) + " names");
      for (size_t i = 0; i < n.names.size(); ++i) assign(n.names[i], v.j[i]);
      return;
    }
    assign(n.names[0], v.undefined ? Json() : v.j);
  }

  Flow exec_for(const Node& n, std::string& out) {
    Value seq = eval(*n.a);
    std::vector<Json> items;
    if (seq.undefined || seq.j.is_null()) {
    } else if (seq.j.is_array()) {
      items.assign(seq.j.begin(), seq.j.end());
    } else if (seq.j.is_object()) {
      for (auto it = seq.j.begin(); it != seq.j.end(); ++it) items.push_back(it.key());
    } else if (seq.j.is_string()) {
      for (auto& c : code_points(seq.j.get<std::string>())) items.push_back(c);
    } else {
      fail(n, "cannot loop over " + str(seq));
    }
    auto bind = [&](const Json& item) {
      if (n.names.size() == 1) {
        assign(n.names[0], item);
      } else {
        if (!item.is_array() || item.size() != n.names.size())
          fail(n, "cannot unpack loop item into " + std::to_string(n.names.size()) + " names");
        for (size_t k = 0; k < n.names.size(); ++k) assign(n.names[k], item[k]);
      }
    };
    if (n.d) {  // {% for x in xs if cond %}
      std::vector<Json> kept;
      scopes_.push_back(Json::object());
      for (auto& item : items) {
        bind(item);
        if (truthy(eval(*n.d))) kept.push_back(item);
      }
      scopes_.pop_back();
      items.swap(kept);
    }
    if (items.empty()) return n.c ? exec(*n.c, out) : Flow::kNormal;
    scopes_.push_back(Json::object());
    const size_t len = items.size();
    for (size_t i = 0; i < len; ++i) {
      scopes_.back() = Json::object();
      bind(items[i]);
      Json loop = {{"index", i + 1},      {"index0", i},
                   {"revindex", len - i}, {"revindex0", len - i - 1},
                   {"first", i == 0},     {"last", i + 1 == len},
                   {"length", len}};
      loop["previtem"] = i > 0 ? items[i - 1] : Json();
      loop["nextitem"] = i + 1 < len ? items[i + 1] : Json();
      assign("loop", loop);
      Flow f = exec(*n.b, out);
      if (f == Flow::kBreak) break;
    }
    scopes_.pop_back();
    return Flow::kNormal;
  }

  Args eval_args(const Node& n) {
    Args a;
    size_t n_pos = n.children.size() - n.names.size();
    for (size_t i = 0; i < n.children.size(); ++i) {
      Value v = eval(*n.children[i]);
      if (i < n_pos)
        a.pos.push_back(v);
      else
        a.kw[n.names[i - n_pos]] = v;
    }
    return a;
  }

  Value eval(const Node& n) {
    switch (n.kind) {
      case Kind::kLiteral:
        return n.value;
      case Kind::kName:
        return lookup(n.str);
      case Kind::kList: {
        Json arr = Json::array();
        for (const auto& c : n.children) {
          Value v = eval(*c);
          arr.push_back(v.undefined ? Json() : v.j);
        }
        return arr;
      }
      case Kind::kDict: {
        Json obj = Json::object();
        for (size_t i = 0; i + 1 < n.children.size(); i += 2) {
          Value k = eval(*n.children[i]), v = eval(*n.children[i + 1]);
          obj[str(k)] = v.undefined ? Json() : v.j;
        }
        return obj;
      }
      case Kind::kAttr: {
        Value obj = eval(*n.a);
        if (!obj.undefined && obj.j.is_object() && obj.j.contains(n.str)) return obj.j[n.str];
        if (!obj.undefined && obj.j.is_array() && !n.str.empty() && std::isdigit(uint8_t(n.str[0])))
          return index(n, obj, Json(std::stoll(n.str)));
        return Value();
      }
      case Kind::kIndex:
        return index(n, eval(*n.a), eval(*n.b).j);
      case Kind::kSlice:
        return slice(n);
      case Kind::kCall:
        return call(n);
      case Kind::kFilter:
        return filter(n);
      case Kind::kTest: {
        bool r = test(n);
        return Json(n.negate ? !r : r);
      }
      case Kind::kUnary: {
        Value v = eval(*n.a);
        if (n.str == "not") return Json(!truthy(v));
        if (!v.j.is_number()) fail(n, "unary " + n.str + " needs a number");
        if (n.str == "+") return v;
        if (v.j.is_number_integer()) return Json(-v.j.get<int64_t>());
        return Json(-v.j.get<double>());
      }
      case Kind::kBinary:
        return binary(n);
      case Kind::kTernary:
        if (truthy(eval(*n.b))) return eval(*n.a);
        return n.c ? eval(*n.c) : Value();
      default:
        fail(n, "internal: statement used as an expression");
    }
  }

  static int64_t norm_index(int64_t i, size_t size) { return i < 0 ? i + int64_t(size) : i; }

  Value index(const Node& n, const Value& obj, const Json& key) {
    if (obj.undefined) return Value();
    if (obj.j.is_object()) {
      std::string k = key.is_string() ? key.get<std::string>() : str(Value(key));
      return obj.j.contains(k) ? Value(obj.j[k]) : Value();
    }
    if (!key.is_number_integer()) fail(n, "index must be an integer");
    if (obj.j.is_array()) {
      int64_t i = norm_index(key.get<int64_t>(), obj.j.size());
      if (i < 0 || i >= int64_t(obj.j.size())) return Value();
      return obj.j[size_t(i)];
    }
    if (obj.j.is_string()) {
      auto cps = code_points(obj.j.get<std::string>());
      int64_t i = norm_index(key.get<int64_t>(), cps.size());
      if (i < 0 || i >= int64_t(cps.size())) return Value();
      return Json(cps[size_t(i)]);
    }
    fail(n, "cannot index " + str(obj));
  }

  Value slice(const Node& n) {
    Value obj = eval(*n.a);
    auto opt = [&](const NodePtr& p) -> std::optional<int64_t> {
      if (!p) return std::nullopt;
      Value v = eval(*p);
      if (v.undefined || v.j.is_null()) return std::nullopt;
      if (!v.j.is_number_integer()) fail(n, "slice bounds must be integers");
      return v.j.get<int64_t>();
    };
    auto start = opt(n.b), stop = opt(n.c), step_o = opt(n.d);
    int64_t step = step_o.value_or(1);
    if (step == 0) fail(n, "slice step cannot be zero");
    std::vector<Json> items;
    bool is_str = obj.j.is_string();
    if (is_str)
      for (auto& c : code_points(obj.j.get<std::string>())) items.push_back(c);
    else if (obj.j.is_array())
      items.assign(obj.j.begin(), obj.j.end());
    else
      fail(n, "cannot slice " + str(obj));
    int64_t len = int64_t(items.size());
    auto clamp = [&](std::optional<int64_t> v, int64_t dflt, int64_t lo, int64_t hi) {
      if (!v) return dflt;
      int64_t x = *v < 0 ? *v + len : *v;
      return std::clamp(x, lo, hi);
    };
    int64_t b = step > 0 ? clamp(start, 0, 0, len) : clamp(start, len - 1, -1, len - 1);
    int64_t e = step > 0 ? clamp(stop, len, 0, len) : clamp(stop, -1, -1, len - 1);
    Json out = is_str ? Json("") : Json::array();
    for (int64_t i = b; step > 0 ? i < e : i > e; i += step) {
      if (is_str)
        out.get_ref<std::string&>() += items[size_t(i)].get<std::string>();
      else
        out.push_back(items[size_t(i)]);
    }
    return out;
  }

  Value binary(const Node& n) {
    if (n.str == "and") {
      Value l = eval(*n.a);
      return truthy(l) ? eval(*n.b) : l;
    }
    if (n.str == "or") {
      Value l = eval(*n.a);
      return truthy(l) ? l : eval(*n.b);
    }
    Value l = eval(*n.a), r = eval(*n.b);
    const std::string& op = n.str;
    if (op == "~") return Json(str(l) + str(r));
    if (op == "==" || op == "!=") {
      bool eq = l.undefined || r.undefined ? (l.undefined && r.undefined) : l.j == r.j;
      return Json(op == "==" ? eq : !eq);
    }
    if (op == "in" || op == "not in") {
      bool found = false;
      if (!r.undefined) {
        if (r.j.is_string())
          found = r.j.get<std::string>().find(str(l)) != std::string::npos;
        else if (r.j.is_array())
          found = std::find(r.j.begin(), r.j.end(), l.j) != r.j.end();
        else if (r.j.is_object())
          found = l.j.is_string() && r.j.contains(l.j.get<std::string>());
        else
          fail(n, "'in' needs a string, list or mapping on the right");
      }
      return Json(op == "in" ? found : !found);
    }
    if (op == "+" && l.j.is_string() && r.j.is_string())
      return Json(l.j.get<std::string>() + r.j.get<std::string>());
    if (op == "+" && l.j.is_array() && r.j.is_array()) {
      Json out = l.j;
      for (const auto& x : r.j) out.push_back(x);
      return out;
    }
    if (op == "*" && l.j.is_string() && r.j.is_number_integer()) {
      std::string out;
      for (int64_t i = 0; i < r.j.get<int64_t>(); ++i) out += l.j.get<std::string>();
      return Json(out);
    }
    if ((op == "<" || op == ">" || op == "<=" || op == ">=") && l.j.is_string() &&
        r.j.is_string()) {
      int c = l.j.get<std::string>().compare(r.j.get<std::string>());
      return Json(op == "<" ? c < 0 : op == ">" ? c > 0 : op == "<=" ? c <= 0 : c >= 0);
    }
    if (l.undefined || r.undefined || !l.j.is_number() || !r.j.is_number())
      fail(n, "operator '" + op + "' cannot combine " + (l.undefined ? "undefined" : str(l)) +
                  " and " + (r.undefined ? "undefined" : str(r)));
    bool ints = l.j.is_number_integer() && r.j.is_number_integer();
    double a = l.j.get<double>(), b = r.j.get<double>();
    if (op == "<") return Json(a < b);
    if (op == ">") return Json(a > b);
    if (op == "<=") return Json(a <= b);
    if (op == ">=") return Json(a >= b);
    if (ints && op != "/") {
      int64_t x = l.j.get<int64_t>(), y = r.j.get<int64_t>();
      if ((op == "//" || op == "%") && y == 0) fail(n, "division by zero");
      if (op == "+") return Json(x + y);
      if (op == "-") return Json(x - y);
      if (op == "*") return Json(x * y);
      int64_t q = x / y - ((x % y != 0) && ((x < 0) != (y < 0)));  // Python floor division
      if (op == "//") return Json(q);
      if (op == "%") return Json(x - q * y);
    }
    if (op == "+") return Json(a + b);
    if (op == "-") return Json(a - b);
    if (op == "*") return Json(a * b);
    if (b == 0) fail(n, "division by zero");
    if (op == "/") return Json(a / b);
    if (op == "//") return Json(std::floor(a / b));
    if (op == "%") return Json(a - std::floor(a / b) * b);
    fail(n, "unsupported operator '" + op + "'");
  }

  Value call(const Node& n) {
    Args args = eval_args(n);
    if (n.a->kind == Kind::kName) {
      const std::string& f = n.a->str;
      if (f == "raise_exception")
        throw Error("chat template raised an error: " + str(args.get(0, "message")));
      if (f == "namespace" || f == "dict") {
        Json obj = Json::object();
        for (auto& [k, v] : args.kw) obj[k] = v.undefined ? Json() : v.j;
        return obj;
      }
      if (f == "range") {
        int64_t a = 0, b = 0, step = 1;
        auto num = [&](size_t i) { return args.pos[i].j.get<int64_t>(); };
        if (args.pos.size() == 1)
          b = num(0);
        else if (args.pos.size() >= 2)
          a = num(0), b = num(1);
        if (args.pos.size() == 3) step = num(2);
        if (step == 0 || args.pos.empty() || std::llabs(b - a) / std::llabs(step) > 1000000)
          fail(n, "bad range()");
        Json out = Json::array();
        for (int64_t i = a; step > 0 ? i < b : i > b; i += step) out.push_back(i);
        return out;
      }
      fail(n, "unsupported function '" + f +
                  "()' (supported: raise_exception, namespace, range, dict)");
    }
    if (n.a->kind == Kind::kAttr) return method(n, eval(*n.a->a), n.a->str, args);
    fail(n, "this expression cannot be called");
  }

  Value method(const Node& n, const Value& obj, const std::string& m, const Args& args) {
    if (!obj.undefined && obj.j.is_string()) {
      const std::string s = obj.j.get<std::string>();
      auto chars = [&](size_t i) {
        Value c = args.get(i, "chars");
        return c.undefined || c.j.is_null() ? std::string(kWhitespace) : str(c);
      };
      if (m == "strip") return Json(strip_chars(s, chars(0), true, true));
      if (m == "lstrip") return Json(strip_chars(s, chars(0), true, false));
      if (m == "rstrip") return Json(strip_chars(s, chars(0), false, true));
      if (m == "upper" || m == "lower") {
        std::string out = s;
        for (auto& c : out)
          c = char(m == "upper" ? std::toupper(uint8_t(c)) : std::tolower(uint8_t(c)));
        return Json(out);
      }
      if (m == "startswith" || m == "endswith") {
        Value p = args.get(0, "prefix");
        std::vector<std::string> options;
        if (p.j.is_array())
          for (auto& x : p.j) options.push_back(str(Value(x)));
        else
          options.push_back(str(p));
        for (const auto& o : options)
          if (m == "startswith" ? s.starts_with(o) : s.ends_with(o)) return Json(true);
        return Json(false);
      }
      if (m == "split") {
        Value sep = args.get(0, "sep");
        Json out = Json::array();
        if (sep.undefined || sep.j.is_null()) {
          size_t i = 0;
          while (i < s.size()) {
            while (i < s.size() && std::isspace(uint8_t(s[i]))) ++i;
            size_t j = i;
            while (j < s.size() && !std::isspace(uint8_t(s[j]))) ++j;
            if (j > i) out.push_back(s.substr(i, j - i));
            i = j;
          }
          return out;
        }
        std::string d = str(sep);
        if (d.empty()) fail(n, "split() with an empty separator");
        size_t pos = 0;
        for (size_t hit; (hit = s.find(d, pos)) != std::string::npos; pos = hit + d.size())
          out.push_back(s.substr(pos, hit - pos));
        out.push_back(s.substr(pos));
        return out;
      }
      if (m == "replace") {
        std::string from = str(args.get(0, "old")), to = str(args.get(1, "new")), out;
        if (from.empty()) return Json(s);
        size_t pos = 0;
        for (size_t hit; (hit = s.find(from, pos)) != std::string::npos; pos = hit + from.size())
          out += s.substr(pos, hit - pos) + to;
        return Json(out + s.substr(pos));
      }
      if (m == "find") {
        size_t p = s.find(str(args.get(0, "sub")));
        return Json(p == std::string::npos ? int64_t(-1) : int64_t(p));
      }
      if (m == "join") {
        Value list = args.get(0, "iterable");
        std::string out;
        bool first = true;
        for (const auto& x : list.j) {
          if (!first) out += s;
          first = false;
          out += str(Value(x));
        }
        return Json(out);
      }
      if (m == "title" || m == "capitalize") return apply_filter(n, m, obj, args);
    }
    if (!obj.undefined && obj.j.is_object()) {
      if (m == "items") {
        Json out = Json::array();
        for (auto it = obj.j.begin(); it != obj.j.end(); ++it)
          out.push_back(Json::array({it.key(), it.value()}));
        return out;
      }
      if (m == "keys" || m == "values") {
        Json out = Json::array();
        for (auto it = obj.j.begin(); it != obj.j.end(); ++it)
          out.push_back(m == "keys" ? Json(it.key()) : it.value());
        return out;
      }
      if (m == "get") {
        std::string k = str(args.get(0, "key"));
        if (obj.j.contains(k)) return obj.j[k];
        Value d = args.get(1, "default");
        return d.undefined ? Value(Json()) : d;
      }
    }
    fail(n, "unsupported method '" + m + "()' on " +
                (obj.undefined ? "an undefined value" : str(obj)));
  }

  Value filter(const Node& n) {
    Value v = eval(*n.a);
    Args args = eval_args(n);
    return apply_filter(n, n.str, v, args);
  }

  Value apply_filter(const Node& n, const std::string& f, const Value& v, const Args& args) {
    if (f == "default" || f == "d") {
      bool boolean = truthy(args.get(1, "boolean"));
      if (v.undefined || (boolean && !truthy(v))) {
        Value d = args.get(0, "default_value");
        return d.undefined ? Value(Json("")) : d;
      }
      return v;
    }
    if (f == "trim") return Json(strip_chars(str(v), kWhitespace, true, true));
    if (f == "string") return Json(str(v));
    if (f == "safe") return v;
    if (f == "upper" || f == "lower") {
      std::string out = str(v);
      for (auto& c : out)
        c = char(f == "upper" ? std::toupper(uint8_t(c)) : std::tolower(uint8_t(c)));
      return Json(out);
    }
    if (f == "capitalize" || f == "title") {
      std::string out = str(v);
      bool start = true;
      for (auto& c : out) {
        bool alpha = std::isalpha(uint8_t(c));
        c = char(start && alpha                 ? std::toupper(uint8_t(c))
                 : (f == "capitalize" || alpha) ? std::tolower(uint8_t(c))
                                                : c);
        start = f == "title" ? !alpha : false;
      }
      return Json(out);
    }
    if (f == "length" || f == "count") {
      if (v.undefined) return Json(0);
      if (v.j.is_string()) return Json(int64_t(code_points(v.j.get<std::string>()).size()));
      if (v.j.is_array() || v.j.is_object()) return Json(int64_t(v.j.size()));
      fail(n, "length of " + str(v) + " is undefined");
    }
    if (f == "tojson") {
      Value ind = args.get(0, "indent");
      std::string out;
      dumps(v.undefined ? Json() : v.j,
            ind.undefined || ind.j.is_null() ? -1 : int(ind.j.get<int64_t>()), 0, out);
      return Json(out);
    }
    if (f == "int") {
      if (v.j.is_number()) return Json(int64_t(v.j.get<double>()));
      try {
        return Json(std::stoll(str(v)));
      } catch (...) {
        return Json(0);
      }
    }
    if (f == "float") {
      if (v.j.is_number()) return Json(v.j.get<double>());
      try {
        return Json(std::stod(str(v)));
      } catch (...) {
        return Json(0.0);
      }
    }
    if (f == "join") {
      std::string sep = args.pos.empty() ? "" : str(args.pos[0]), out;
      Value attr = args.get(1, "attribute");
      bool first = true;
      for (const auto& x : v.j) {
        if (!first) out += sep;
        first = false;
        out += attr.undefined ? str(Value(x))
                              : str(x.contains(str(attr)) ? Value(x[str(attr)]) : Value());
      }
      return Json(out);
    }
    if (f == "first" || f == "last") {
      if (v.j.is_array())
        return v.j.empty() ? Value() : Value(f == "first" ? v.j.front() : v.j.back());
      if (v.j.is_string()) {
        auto cps = code_points(v.j.get<std::string>());
        return cps.empty() ? Value() : Value(Json(f == "first" ? cps.front() : cps.back()));
      }
      fail(n, "filter '" + f + "' needs a list or string");
    }
    if (f == "list") {
      if (v.j.is_array()) return v;
      Json out = Json::array();
      if (v.j.is_string())
        for (auto& c : code_points(v.j.get<std::string>())) out.push_back(c);
      else if (v.j.is_object())
        for (auto it = v.j.begin(); it != v.j.end(); ++it) out.push_back(it.key());
      return out;
    }
    if (f == "reverse") {
      if (v.j.is_string()) {
        auto cps = code_points(v.j.get<std::string>());
        std::string out;
        for (auto it = cps.rbegin(); it != cps.rend(); ++it) out += *it;
        return Json(out);
      }
      Json out = v.j;
      std::reverse(out.begin(), out.end());
      return out;
    }
    if (f == "items") return method(n, v, "items", {});
    if (f == "replace") return method(n, Value(Json(str(v))), "replace", args);
    if (f == "map") {
      Value attr = args.get(99, "attribute");
      Json out = Json::array();
      for (const auto& x : v.j) {
        if (!attr.undefined)
          out.push_back(x.is_object() && x.contains(str(attr)) ? x[str(attr)] : Json());
        else
          out.push_back(apply_filter(n, str(args.pos.at(0)), Value(x), {}).j);
      }
      return out;
    }
    if (f == "selectattr" || f == "rejectattr" || f == "select" || f == "reject") {
      bool attr_form = f.ends_with("attr");
      size_t t = attr_form ? 1 : 0;
      Json out = Json::array();
      for (const auto& x : v.j) {
        Value item = x;
        if (attr_form) {
          std::string a = str(args.pos.at(0));
          item = x.is_object() && x.contains(a) ? Value(x[a]) : Value();
        }
        bool r = args.pos.size() > t
                     ? run_test(n, str(args.pos[t]), item,
                                std::vector<Value>(args.pos.begin() + long(t) + 1, args.pos.end()))
                     : truthy(item);
        if (r == (f == "selectattr" || f == "select")) out.push_back(x);
      }
      return out;
    }
    if (f == "e" || f == "escape") {
      std::string out;
      for (char c : str(v)) {
        switch (c) {
          case '&':
            out += "&amp;";
            break;
          case '<':
            out += "&lt;";
            break;
          case '>':
            out += "&gt;";
            break;
          case '"':
            out += "&#34;";
            break;
          case '\'':
            out += "&#39;";
            break;
          default:
            out += c;
        }
      }
      return Json(out);
    }
    fail(n, "unsupported filter '" + f + "'");
  }

  bool test(const Node& n) {
    Value v = eval(*n.a);
    std::vector<Value> args;
    for (const auto& c : n.children) args.push_back(eval(*c));
    return run_test(n, n.str, v, args);
  }

  bool run_test(const Node& n, const std::string& t, const Value& v,
                const std::vector<Value>& args) {
    if (t == "defined") return !v.undefined;
    if (t == "undefined") return v.undefined;
    if (t == "none") return !v.undefined && v.j.is_null();
    if (t == "string") return !v.undefined && v.j.is_string();
    if (t == "number") return !v.undefined && v.j.is_number();
    if (t == "integer") return !v.undefined && v.j.is_number_integer();
    if (t == "float") return !v.undefined && v.j.is_number_float();
    if (t == "boolean") return !v.undefined && v.j.is_boolean();
    if (t == "true") return !v.undefined && v.j.is_boolean() && v.j.get<bool>();
    if (t == "false") return !v.undefined && v.j.is_boolean() && !v.j.get<bool>();
    if (t == "mapping") return !v.undefined && v.j.is_object();
    if (t == "sequence" || t == "iterable")
      return !v.undefined &&
             (v.j.is_array() || v.j.is_string() || (t == "iterable" && v.j.is_object()));
    if (t == "callable") return false;
    if (t == "odd" || t == "even") {
      if (!v.j.is_number_integer()) fail(n, "test '" + t + "' needs an integer");
      return (v.j.get<int64_t>() % 2 != 0) == (t == "odd");
    }
    if (t == "equalto" || t == "eq" || t == "==" || t == "sameas")
      return !args.empty() && !v.undefined && !args[0].undefined && v.j == args[0].j;
    if (t == "ne" || t == "!=")
      return args.empty() || v.undefined || args[0].undefined || v.j != args[0].j;
    if (t == "in") {
      if (args.empty() || args[0].undefined) return false;
      const Json& c = args[0].j;
      if (c.is_array()) return std::find(c.begin(), c.end(), v.j) != c.end();
      if (c.is_string()) return c.get<std::string>().find(str(v)) != std::string::npos;
      if (c.is_object()) return v.j.is_string() && c.contains(v.j.get<std::string>());
      return false;
    }
    fail(n, "unsupported test 'is " + t + "'");
  }

  std::vector<Json> scopes_;
};

}  // namespace
}  // namespace jinja

JinjaTemplate::JinjaTemplate(const std::string& source) : root_(jinja::parse_template(source)) {}
JinjaTemplate::~JinjaTemplate() = default;
JinjaTemplate::JinjaTemplate(JinjaTemplate&&) noexcept = default;
JinjaTemplate& JinjaTemplate::operator=(JinjaTemplate&&) noexcept = default;

std::string JinjaTemplate::render(const nlohmann::ordered_json& context) const {
  std::string out;
  jinja::Evaluator ev(context);
  ev.exec(*root_, out);
  return out;
}

}  // namespace still
