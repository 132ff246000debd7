// Text generation with a KV cache: the prompt is prefilled through decode(), then tokens are
// sampled one at a time and streamed as UTF-8 text.
#pragma once
#include <cstdint>
#include <functional>
#include <string>

#include "still/formats/tokenizer/tokenizer.h"
#include "still/generate/sampler.h"
#include "still/model/llama.h"

namespace still {

struct GenerateOptions {
  SamplerOptions sampler;
  uint64_t seed = 0;
  int max_tokens = 256;
};

struct GenerateResult {
  int prompt_tokens = 0, generated_tokens = 0;
  std::string stop_reason;  // "max_tokens", "eos", "context"
  double prefill_seconds = 0, decode_seconds = 0;
  std::string text;  // everything generated (without the prompt)
};

// Calls on_text with pieces of the generated text, each ending on a UTF-8 character
// boundary. Stops at max_tokens, at the EOS token, or when the context (max_seq) is full.
GenerateResult generate(const LlamaModel& model, const Tokenizer& tok, const std::string& prompt,
                        const GenerateOptions& opt,
                        const std::function<void(const std::string&)>& on_text);

}  // namespace still
