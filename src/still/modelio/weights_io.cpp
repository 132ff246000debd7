#include "still/modelio/weights_io.h"

#include <set>

#include "still/formats/safetensors.h"
#include "still/util/error.h"

namespace still {

void write_param_safetensors(const std::string& path, const ParamLayout& layout,
                             const std::vector<NamedBuffer>& buffers,
                             const std::map<std::string, std::string>& metadata) {
  std::vector<SafetensorsWriteEntry> entries;
  for (auto& b : buffers)
    for (auto& t : layout.tensors())
      entries.push_back({b.prefix + t.name, DType::kF32, t.shape, b.data + t.offset});
  auto meta = metadata;
  meta.emplace("format", "pt");
  write_safetensors(path, entries, meta);
}

std::map<std::string, std::string> read_param_safetensors(
    const std::string& path, const ParamLayout& layout,
    const std::vector<NamedBufferOut>& buffers) {
  SafetensorsFile f(path);
  std::set<std::string> expected;
  for (auto& b : buffers)
    for (auto& t : layout.tensors()) {
      std::string name = b.prefix + t.name;
      expected.insert(name);
      const SafetensorsEntry* e = f.find(name);
      require(e != nullptr, path + " has no tensor " + name +
                                ": it was written for another "
                                "model configuration or is damaged");
      require(e->shape == t.shape,
              path + ": tensor " + name + " has a different shape than the configuration says");
      f.read_f32(name, b.data + t.offset, int64_t(t.numel));
    }
  for (auto& e : f.tensors())
    require(expected.count(e.name), path + " holds an unexpected tensor " + e.name +
                                        ": it was written for another model configuration");
  return f.metadata();
}

}  // namespace still
