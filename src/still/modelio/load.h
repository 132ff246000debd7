// Loading a Llama-family model from what users have: a Hugging Face model folder (config.json +
// *.safetensors, sharded or not), a still checkpoint (a run directory or one of its
// checkpoints), or a GGUF file. Weights are memory-mapped and converted to f32 (F32, F16,
// BF16, Q8_0, Q4_0) straight into the model's flat parameter buffer, in HF layout.
#pragma once
#include <memory>
#include <string>

#include "still/model/config.h"
#include "still/model/params.h"

namespace still {

class LlamaModel;
class Q8Weights;

enum class ModelFormat { kHfFolder, kGguf };

// Where a model path points after resolving run directories (run_dir/latest).
struct ModelLocation {
  ModelFormat format;
  std::string path;  // the GGUF file or the folder holding config.json
};
// Throws still::Error saying what was expected when `path` is none of the above.
ModelLocation locate_model(const std::string& path);

// The model's hyperparameters, without reading weights.
LlamaConfig read_model_config(const std::string& path);

// Fills `params` (laid out as ParamLayout(config), config from read_model_config) with the
// model's weights. Every tensor's shape is checked; tensors the layout does not know are an
// error, so nothing is silently dropped.
void load_params(const std::string& path, const LlamaConfig& config, float* params);

// load_params, except that a GGUF's Q8_0 matrices stay in the (memory-mapped) file: the
// returned source holds them and their f32 slots in `params` are left untouched. Null when the
// model has no Q8_0 matrix (everything is then in `params`).
std::shared_ptr<Q8Weights> load_params_keep_q8(const std::string& path, const LlamaConfig& config,
                                               float* params);

struct LoadOptions {
  // Keep a GGUF's Q8_0 weights quantized in memory (~1.06 bytes per parameter instead of 4):
  // the model then runs forward passes only (teachers, generation), never training.
  bool keep_q8 = false;
};

// read_model_config + LlamaModel + load_params (or load_params_keep_q8).
std::unique_ptr<LlamaModel> load_model(const std::string& path, const LoadOptions& opt = {});

}  // namespace still
