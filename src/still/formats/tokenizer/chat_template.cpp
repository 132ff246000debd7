#include "still/formats/tokenizer/chat_template.h"

#include "still/formats/tokenizer/jinja.h"
#include "still/util/error.h"

namespace still {
namespace {

using Json = nlohmann::ordered_json;

// 0xFF never occurs in UTF-8, so it can mark user text: placed after the first byte of each
// special-token spelling in user content, it stops the match; encode_chat() drops it again.
constexpr char kBreak = '\xFF';

std::string defuse(std::string s, const std::vector<AddedToken>& specials) {
  for (const auto& a : specials) {
    for (size_t pos = 0; (pos = s.find(a.content, pos)) != std::string::npos;) {
      s.insert(pos + 1, 1, kBreak);
      pos += a.content.size() + 1;
    }
  }
  return s;
}

Json defuse_all(const Json& j, const std::vector<AddedToken>& specials) {
  if (j.is_string()) return defuse(j.get<std::string>(), specials);
  if (j.is_array() || j.is_object()) {
    Json out = j;
    for (auto it = out.begin(); it != out.end(); ++it)
      it.value() = defuse_all(it.value(), specials);
    return out;
  }
  return j;
}

std::string strip_breaks(std::string s) {
  std::erase(s, kBreak);
  return s;
}

}  // namespace

std::string render_chat_template(const std::string& tmpl, const Json& messages,
                                 bool add_generation_prompt, const std::string& bos_token,
                                 const std::string& eos_token, const Json& extra) {
  require(messages.is_array(), "chat messages must be a list of {\"role\", \"content\"} objects");
  Json ctx = extra.is_object() ? extra : Json::object();
  ctx["messages"] = messages;
  ctx["add_generation_prompt"] = add_generation_prompt;
  ctx["bos_token"] = bos_token;
  ctx["eos_token"] = eos_token;
  return JinjaTemplate(tmpl).render(ctx);
}

ChatPrompt apply_chat_template(const Tokenizer& tok, const Json& messages,
                               bool add_generation_prompt, const Json& extra) {
  std::string tmpl = tok.chat_template();
  require(!tmpl.empty(),
          "this tokenizer has no chat template (no chat_template in "
          "tokenizer_config.json or tokenizer.chat_template in the GGUF)");
  std::vector<AddedToken> specials;
  for (const auto& a : tok.added_tokens())
    if (a.special) specials.push_back(a);
  std::string bos = tok.bos_id() >= 0 ? tok.token_text(tok.bos_id()) : "";
  std::string eos = tok.eos_id() >= 0 ? tok.token_text(tok.eos_id()) : "";
  std::string marked =
      render_chat_template(tmpl, defuse_all(messages, specials), add_generation_prompt, bos, eos,
                           defuse_all(extra, specials));
  ChatPrompt p;
  p.text = strip_breaks(marked);
  p.ids = tok.encode_chat(marked);
  return p;
}

}  // namespace still
