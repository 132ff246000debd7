// libFuzzer: config.json (ours or Hugging Face's names) to LlamaConfig and back.
#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>

#include "still/model/config.h"
#include "still/model/params.h"
#include "still/util/error.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto j = nlohmann::json::parse(data, data + size, nullptr, false);
  if (j.is_discarded()) return 0;
  try {
    auto c = still::LlamaConfig::from_json(j);
    (void)c.num_params();
    (void)c.to_hf_json().dump();
    if (int64_t(c.n_layers) * 16 < 100000) still::ParamLayout layout(c);
  } catch (const still::Error&) {
  }
  return 0;
}
