// Jinja template syntax tree, shared by the parser and the evaluator (internal).
#pragma once
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace still::jinja {

using Json = nlohmann::ordered_json;

struct Node;
using NodePtr = std::unique_ptr<Node>;

enum class Kind {
  // Statements
  kBlock,     // children in order
  kText,      // str
  kOutput,    // a: expression
  kIf,        // children: condition/body pairs as kIfBranch; b: else body (may be null)
  kIfBranch,  // a: condition, b: body
  kFor,       // names: loop targets; a: iterable; b: body; c: else body; d: filter condition
  kSet,       // names: target (1 name or obj.attr as 2 names); a: value or null, b: block body
  kBreak,
  kContinue,
  // Expressions
  kLiteral,  // value
  kName,     // str
  kList,     // children
  kDict,     // children: key, value, key, value...
  kAttr,     // a: object, str: attribute
  kIndex,    // a: object, b: index
  kSlice,    // a: object, b/c/d: start/stop/step (each may be null)
  kCall,     // a: callee, children: args, names: keyword names for the last kwargs
  kFilter,   // a: value, str: filter name, children: args
  kTest,     // a: value, str: test name, children: args, negate
  kUnary,    // str: op ("not", "-", "+"), a
  kBinary,   // str: op, a, b
  kTernary,  // a: value if true, b: condition, c: value if false (may be null)
};

struct Node {
  Kind kind;
  std::string str;
  Json value;
  NodePtr a, b, c, d;
  std::vector<NodePtr> children;
  std::vector<std::string> names;
  bool negate = false;
  int line = 0;
  explicit Node(Kind k, int ln) : kind(k), line(ln) {}
};

NodePtr parse_template(const std::string& source);

}  // namespace still::jinja
