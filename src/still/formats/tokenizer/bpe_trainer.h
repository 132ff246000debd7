// Learns a byte-level BPE tokenizer from a text corpus and writes it as a Hugging Face
// tokenizer.json. Pre-tokenization is Llama 3's split regex with ignore_merges, i.e. exactly
// what llama.cpp calls tokenizer.ggml.pre = "llama-bpe", so an exported GGUF tokenizes alike.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace still {

struct BpeTrainOptions {
  int vocab_size = 4096;  // bytes + merges + special tokens
  int min_frequency = 2;  // a pair must occur this often to be merged
  std::vector<std::string> special_tokens = {"<|begin_of_text|>", "<|end_of_text|>"};
  bool progress = true;
};

struct BpeTrainResult {
  std::string tokenizer_json;  // the file contents
  int vocab_size = 0;          // may be below the request if the corpus ran out of pairs
  int merges = 0;
  static constexpr const char* kLlamaCppPre = "llama-bpe";
};

// Deterministic: the same corpus and options give the same bytes.
BpeTrainResult train_bpe(std::string_view corpus, const BpeTrainOptions& options);

}  // namespace still
