#include <cstdio>
#include <nlohmann/json.hpp>

#include "still/cli/commands.h"
#include "still/modelio/export.h"
#include "still/util/log.h"

namespace still::cli {

void register_export(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "export",
      "Write a model as GGUF (for llama.cpp) or a Hugging Face folder (safetensors + "
      "config.json + tokenizer files)");
  static std::string model, format, out, tokenizer;
  static ExportOptions opts;
  static bool json = false;
  cmd->add_option("--model", model, "Model to export: GGUF, HF folder, checkpoint or run dir")
      ->required();
  cmd->add_option("--format", format, "gguf or hf")
      ->required()
      ->check(CLI::IsMember({"gguf", "hf"}));
  cmd->add_option("--out", out, "Output GGUF file (gguf) or folder (hf)")->required();
  cmd->add_option("--dtype", opts.dtype,
                  "Weight type: f32, f16, bf16, q8_0 (GGUF only; tensors whose rows are not a "
                  "multiple of 32 fall back to f16 and are listed)")
      ->check(CLI::IsMember({"f32", "f16", "bf16", "q8_0", "q4_0"}))
      ->capture_default_str();
  cmd->add_option("--tokenizer", tokenizer,
                  "Tokenizer source (default: the model's own): a GGUF, an HF folder, a "
                  "tokenizer.json, or 'bytes'");
  cmd->add_option("--name", opts.name, "general.name written into a GGUF")->capture_default_str();
  cmd->add_flag("--json", json, "Print the result as JSON");
  cmd->callback([] {
    opts.tokenizer_source = tokenizer;
    ExportReport r = export_model(model, format, out, opts);
    if (json) {
      nlohmann::json j = {{"path", r.path},           {"bytes", r.bytes},
                          {"format", format},         {"dtype", opts.dtype},
                          {"tokenizer", r.tokenizer}, {"fallbacks", r.fallbacks}};
      std::printf("%s\n", j.dump(2).c_str());
      return;
    }
    std::printf("wrote %s (%s, %s, %s)\ntokenizer: %s\n", r.path.c_str(), format.c_str(),
                opts.dtype.c_str(), format_bytes(double(r.bytes)).c_str(), r.tokenizer.c_str());
    for (auto& f : r.fallbacks) std::printf("fallback: %s\n", f.c_str());
  });
}

}  // namespace still::cli
