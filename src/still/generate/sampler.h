// Picks the next token from a row of logits: greedy at temperature 0, otherwise a draw from
// softmax(logits / temperature) restricted to the top-k tokens, then to the smallest set of
// most likely tokens whose probability reaches top-p (the nucleus).
#pragma once
#include <cstdint>
#include <string>

#include "still/util/rng.h"

namespace still {

struct SamplerOptions {
  float temperature = 0.8f;  // <= 0: greedy (argmax)
  int top_k = 0;             // 0: no limit
  float top_p = 1.0f;        // 1: no nucleus cut
};

// Throws still::Error for options out of range (temperature < 0, top_p not in (0, 1]).
void validate(const SamplerOptions& opt);

// Index of the largest logit (the lowest index among ties).
int32_t argmax(const float* logits, int n);

// Deterministic given the Rng state; draws exactly one number from rng unless greedy.
int32_t sample_token(const float* logits, int n, const SamplerOptions& opt, Rng& rng);

// Streams bytes as UTF-8 text without splitting a character: push() returns the longest
// prefix of everything pushed so far that ends on a character boundary; finish() the rest.
class Utf8Stream {
 public:
  std::string push(const std::string& bytes);
  std::string finish();

 private:
  std::string pending_;
};

}  // namespace still
