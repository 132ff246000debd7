// The subset of Jinja that Hugging Face chat templates use, rendered the way transformers
// does (trim_blocks and lstrip_blocks on): text, {{ }}, {% if/elif/else %}, {% for %} with
// loop variables and else, {% set %} (also ns.attr and block form), {# #}, whitespace
// control (-), expressions with filters, tests, methods, slices, namespace() and
// raise_exception(). Anything else is an error naming the construct and where it is.
#pragma once
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

namespace still {

namespace jinja {
struct Node;
}

class JinjaTemplate {
 public:
  explicit JinjaTemplate(const std::string& source);  // parses; throws still::Error
  ~JinjaTemplate();
  JinjaTemplate(JinjaTemplate&&) noexcept;
  JinjaTemplate& operator=(JinjaTemplate&&) noexcept;
  // Renders with `context`'s members as variables. Throws still::Error (also for
  // raise_exception() in the template, with its message).
  std::string render(const nlohmann::ordered_json& context) const;

 private:
  std::unique_ptr<jinja::Node> root_;
};

}  // namespace still
