// Splits text the way Hugging Face's Split pre-tokenizer with behaviour "Isolated" does:
// every regex match is a piece and so is every stretch between matches. PCRE2 (JIT) with
// Unicode properties runs the GPT-2, Llama 3 and Qwen2 patterns unchanged. Invalid UTF-8
// never matches, so stray bytes end up in the stretches between matches, losing nothing.
#pragma once
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace still {

class RegexSplitter {
 public:
  explicit RegexSplitter(const std::string& pattern);  // throws still::Error on a bad pattern
  ~RegexSplitter();
  RegexSplitter(RegexSplitter&&) noexcept;
  RegexSplitter& operator=(RegexSplitter&&) noexcept;
  // Appends the pieces of `text` (views into it) to `out`.
  void split(std::string_view text, std::vector<std::string_view>& out) const;
  const std::string& pattern() const { return pattern_; }

 private:
  struct Impl;
  std::string pattern_;
  std::unique_ptr<Impl> impl_;
};

// The split patterns of well-known pre-tokenizers, by llama.cpp's tokenizer.ggml.pre names.
extern const char* const kGpt2SplitRegex;
extern const char* const kLlama3SplitRegex;
extern const char* const kQwen2SplitRegex;
// The split patterns (applied in sequence, each keeping the text between matches as pieces
// too) for a tokenizer.ggml.pre value; empty if we don't know it. "default" is llama.cpp's
// fallback sequence, used for any BPE vocabulary without a named pre-tokenizer.
std::vector<std::string> split_regexes_for_pre(std::string_view pre);

}  // namespace still
