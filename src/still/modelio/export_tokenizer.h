// The tokenizer part of an export, taken from where the model came from: a GGUF's
// tokenizer.* metadata, an HF folder's tokenizer files (tokenizer.json byte-level BPE is
// converted for GGUF), a still checkpoint's tokenizer_info.json, or still's byte tokenizer.
#pragma once
#include <string>

#include "still/formats/gguf_writer.h"
#include "still/model/config.h"

namespace still {

// Adds tokenizer.* keys that llama.cpp accepts, padded with [PAD<i>] tokens up to the model's
// vocab_size. Returns a short description ("bytes (gpt2 alphabet)", "copied from x.gguf", ...).
std::string add_gguf_tokenizer(const std::string& source, const LlamaConfig& config, GgufWriter& w);

// Writes tokenizer files into out_dir (copies from an HF folder, or a byte-level
// tokenizer.json for the byte tokenizer). Returns a description; "none" when nothing could be
// written (then a warning has been logged).
std::string write_hf_tokenizer(const std::string& source, const LlamaConfig& config,
                               const std::string& out_dir);

}  // namespace still
