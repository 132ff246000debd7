// Kept apart from load.cpp so code that only needs configs and parameter buffers does not
// link the engine.
#include "still/model/llama.h"
#include "still/model/q8_weights.h"
#include "still/modelio/load.h"

namespace still {

std::unique_ptr<LlamaModel> load_model(const std::string& path, const LoadOptions& opt) {
  LlamaConfig config = read_model_config(path);
  auto model = std::make_unique<LlamaModel>(config);
  if (opt.keep_q8) {
    if (auto q8 = load_params_keep_q8(path, config, model->params()))
      model->set_quantized_weights(std::move(q8));
  } else {
    load_params(path, config, model->params());
  }
  return model;
}

}  // namespace still
