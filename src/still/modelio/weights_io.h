// Flat parameter buffers <-> safetensors files with Hugging Face tensor names (F32).
// The model's weights use the names as they are; other buffers of the same layout (AdamW's
// moments) get a prefix ("exp_avg.model.norm.weight").
#pragma once
#include <map>
#include <string>
#include <vector>

#include "still/model/params.h"

namespace still {

struct NamedBuffer {
  std::string prefix;  // "" for the weights themselves
  const float* data;
};
struct NamedBufferOut {
  std::string prefix;
  float* data;
};

// Writes every tensor of `layout` from each buffer, atomically.
void write_param_safetensors(const std::string& path, const ParamLayout& layout,
                             const std::vector<NamedBuffer>& buffers,
                             const std::map<std::string, std::string>& metadata = {});

// Reads every tensor of `layout` into each buffer. The file must hold exactly these tensors
// with these shapes; throws still::Error naming the file and the first tensor that is
// missing, extra or of the wrong shape. Returns the file's metadata.
std::map<std::string, std::string> read_param_safetensors(
    const std::string& path, const ParamLayout& layout, const std::vector<NamedBufferOut>& buffers);

}  // namespace still
