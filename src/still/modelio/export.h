// Writing a model for other tools: GGUF that llama.cpp loads (hyperparameters, tensors in its
// names and Q/K order, tokenizer metadata) and Hugging Face folders (config.json,
// safetensors, tokenizer files) that transformers loads.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "still/model/config.h"

namespace still {

struct ExportOptions {
  std::string dtype = "f32";         // f32 | f16 | bf16 | q8_0 (q8_0: GGUF only)
  std::string name = "still-model";  // general.name in GGUF
  // Where the tokenizer comes from: the model path the weights were loaded from (a GGUF's
  // tokenizer.* metadata, an HF folder's tokenizer files, a checkpoint's tokenizer_info.json),
  // or "bytes". Empty: "bytes".
  std::string tokenizer_source;
  uint64_t max_shard_bytes = 5ull << 30;  // HF: larger models are sharded with an index
};

// What an export did, for the CLI to print.
struct ExportReport {
  std::string path;
  uint64_t bytes = 0;
  std::vector<std::string> fallbacks;  // "tensor: wanted q8_0, wrote f16 (rows of 100)"
  std::string tokenizer;               // what tokenizer went in ("gguf metadata", "bytes", ...)
};

// `params` is laid out as ParamLayout(config) (HF names, f32).
ExportReport export_gguf(const LlamaConfig& config, const float* params, const std::string& out,
                         const ExportOptions& opts);
ExportReport export_hf(const LlamaConfig& config, const float* params, const std::string& out_dir,
                       const ExportOptions& opts);

// Loads the model at `model` (any format load_model reads) and exports it in `format`
// ("gguf" or "hf"). The tokenizer comes from the model unless opts.tokenizer_source is set.
ExportReport export_model(const std::string& model, const std::string& format,
                          const std::string& out, ExportOptions opts);

}  // namespace still
