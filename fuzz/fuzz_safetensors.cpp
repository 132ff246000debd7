// libFuzzer: the safetensors header parser, and reading every tensor it accepts.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "still/formats/safetensors.h"
#include "still/util/error.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    auto f = still::SafetensorsFile::parse_only(data, size, "fuzz.safetensors");
    std::vector<float> out;
    for (auto& t : f.tensors()) {
      if (t.numel() > (1 << 20)) continue;
      out.resize(size_t(t.numel()));
      try {
        f.read_f32(t.name, out.data(), t.numel());
      } catch (const still::Error&) {
      }
    }
  } catch (const still::Error&) {
  }
  return 0;
}
