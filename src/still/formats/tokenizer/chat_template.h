// Chat prompts: a tokenizer's chat template (tokenizer_config.json or GGUF metadata) applied
// to messages, and tokenized so that special tokens come only from the template text: where
// user content spells a special token, it stays plain text.
#pragma once
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "still/formats/tokenizer/tokenizer.h"

namespace still {

struct ChatPrompt {
  std::string text;          // the rendered prompt, as the reference would print it
  std::vector<int32_t> ids;  // its tokens (no BOS added beyond what the template writes)
};

// `messages`: [{"role": ..., "content": ...}, ...]; `extra`: more template variables
// (tools, enable_thinking, ...). Throws still::Error if the tokenizer has no template or
// the template uses an unsupported construct or raises an exception.
ChatPrompt apply_chat_template(
    const Tokenizer& tok, const nlohmann::ordered_json& messages, bool add_generation_prompt,
    const nlohmann::ordered_json& extra = nlohmann::ordered_json::object());

// Renders a template directly (same variables as above, bos_token/eos_token given).
std::string render_chat_template(
    const std::string& tmpl, const nlohmann::ordered_json& messages, bool add_generation_prompt,
    const std::string& bos_token, const std::string& eos_token,
    const nlohmann::ordered_json& extra = nlohmann::ordered_json::object());

}  // namespace still
