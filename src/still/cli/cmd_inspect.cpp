#include <cstdio>

#include "still/cli/commands.h"
#include "still/modelio/inspect.h"

namespace still::cli {

void register_inspect(CLI::App& app) {
  auto* cmd =
      app.add_subcommand("inspect",
                         "Show what a model file or folder holds: architecture, metadata, tensors, "
                         "parameter count, tokenizer");
  static std::string path;
  static bool json = false;
  cmd->add_option("path", path,
                  "GGUF file, .safetensors file, Hugging Face model folder or "
                  "still run directory")
      ->required();
  cmd->add_flag("--json", json, "Print one JSON object instead of text");
  cmd->callback([] {
    nlohmann::json info = inspect_model(path);
    if (json)
      std::printf("%s\n",
                  info.dump(2, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
    else
      std::fputs(render_inspect(info).c_str(), stdout);
  });
}

}  // namespace still::cli
