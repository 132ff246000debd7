// libFuzzer: the GGUF parser and everything `still inspect` and the loader derive from a file
// that parses. Any input must give a parse or a still::Error, never a crash or a bad read.
#include <cstddef>
#include <cstdint>

#include "still/formats/gguf.h"
#include "still/util/error.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    auto f = still::GgufFile::parse_only(data, size, "fuzz.gguf");
    for (auto& [key, value] : f.metadata()) {
      (void)value.summary(8);
      (void)value.to_json(8).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
      if (value.is_array() && value.count > 0) (void)value.float_at(value.count - 1);
    }
    for (auto& t : f.tensors()) {
      const uint8_t* p = f.tensor_data(t);
      if (t.nbytes > 0) (void)(p[0] + p[t.nbytes - 1]);  // in bounds, or ASan says so
    }
    (void)f.get_strings("tokenizer.ggml.tokens");
  } catch (const still::Error&) {
  }
  return 0;
}
