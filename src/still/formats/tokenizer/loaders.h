// The file readers behind load_tokenizer(), one per format. Each throws still::Error with
// one line naming the file and what is wrong with it.
#pragma once
#include <memory>
#include <string>
#include <string_view>

#include "still/formats/tokenizer/bpe_tokenizer.h"

namespace still {

// Hugging Face tokenizer.json (BPE model). `source` names the file in errors.
BpeSpec bpe_spec_from_tokenizer_json(std::string_view json_text, const std::string& source);
// OpenAI GPT-2 encoder.json + vocab.bpe.
BpeSpec bpe_spec_from_gpt2_files(const std::string& encoder_json, const std::string& vocab_bpe);
// tokenizer_config.json next to a tokenizer.json: chat template and BOS/EOS names.
struct TokenizerConfig {
  std::string chat_template, bos_token, eos_token;
};
TokenizerConfig read_tokenizer_config(const std::string& path);
// Applies a TokenizerConfig's template and BOS/EOS token names to a spec.
void apply_tokenizer_config(const TokenizerConfig& config, BpeSpec& spec);
// The tokenizer.ggml.* metadata of a GGUF file.
std::unique_ptr<Tokenizer> load_gguf_tokenizer(const std::string& path);
// A SentencePiece .model file, through libsentencepiece.
std::unique_ptr<Tokenizer> load_sentencepiece_model(const std::string& path);

}  // namespace still
