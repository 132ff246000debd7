// `still inspect`: what a model file or folder holds — format, architecture, every metadata
// key, tensor names/shapes/dtypes, parameter count, tokenizer kind and size.
#pragma once
#include <nlohmann/json.hpp>
#include <string>

namespace still {

// A GGUF file, a .safetensors file, a Hugging Face folder (sharded or not) or a still run
// directory. Arrays in metadata are summarised (count + first items). Throws still::Error
// (naming the file) for what it cannot read.
nlohmann::json inspect_model(const std::string& path);
// Human-readable rendering of inspect_model's result.
std::string render_inspect(const nlohmann::json& info);

}  // namespace still
