// Opens a model and its tokenizer for inference from whatever a user points at: a still run
// directory (its latest checkpoint), a checkpoint directory, a Hugging Face model folder or a
// GGUF file (modelio/load.h). Every command that takes `--model`, `--teacher` or
// `--student MODEL` goes through here.
#pragma once
#include <memory>
#include <string>

#include "still/formats/tokenizer/tokenizer.h"
#include "still/model/llama.h"
#include "still/modelio/load.h"

namespace still {

struct OpenedModel {
  std::unique_ptr<LlamaModel> model;
  std::unique_ptr<Tokenizer> tokenizer;
  std::string path;      // as given
  std::string resolved;  // the directory or file actually read
  std::string sha256;    // identity: its manifest's hash (or the weights file's)
};

// Throws still::Error naming the path and what is wrong. `tokenizer_override`, when not
// empty, replaces the model's own tokenizer (load_tokenizer syntax).
// `load` chooses e.g. to keep a GGUF's Q8_0 weights quantized (inference only).
OpenedModel open_model(const std::string& path, const std::string& tokenizer_override = "",
                       const LoadOptions& load = {});

// What to pass to load_tokenizer() for a model's own tokenizer: "bytes", the tokenizer file a
// checkpoint carries, an HF folder's tokenizer file, or the GGUF file itself.
std::string model_tokenizer_spec(const std::string& model_path);

}  // namespace still
