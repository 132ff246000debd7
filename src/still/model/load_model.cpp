// Kept apart from load.cpp so code that only needs configs and parameter buffers does not
// link the engine.
#include "still/model/llama.h"
#include "still/model/load.h"

namespace still {

std::unique_ptr<LlamaModel> load_model(const std::string& path) {
  LlamaConfig config = read_model_config(path);
  auto model = std::make_unique<LlamaModel>(config);
  load_params(path, config, model->params());
  return model;
}

}  // namespace still
