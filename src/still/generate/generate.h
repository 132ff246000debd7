// Text generation with a KV cache: the prompt is prefilled through decode(), then tokens are
// sampled one at a time and streamed as UTF-8 text.
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "still/formats/tokenizer/tokenizer.h"
#include "still/generate/sampler.h"
#include "still/model/llama.h"

namespace still {

struct GenerateOptions {
  SamplerOptions sampler;
  uint64_t seed = 0;
  int max_tokens = 256;
  // Generation stops when the text ends with one of these; the stop string is cut off.
  std::vector<std::string> stop;
};

struct GenerateResult {
  int prompt_tokens = 0, generated_tokens = 0;
  std::string stop_reason;  // "max_tokens", "eos", "stop", "context"
  double prefill_seconds = 0, decode_seconds = 0;
  std::string text;  // everything generated (without the prompt)
};

// Calls on_text with pieces of the generated text, each ending on a UTF-8 character
// boundary. Stops at max_tokens, at the EOS token, at a stop string (the text before it is
// kept; pieces already passed to on_text may hold its start), or when the context is full.
GenerateResult generate(const LlamaModel& model, const Tokenizer& tok, const std::string& prompt,
                        const GenerateOptions& opt,
                        const std::function<void(const std::string&)>& on_text);

}  // namespace still
