#include <cstdio>
#include <nlohmann/json.hpp>

#include "still/cli/commands.h"
#include "still/kernels/bf16.h"
#include "still/kernels/isa.h"

namespace still::cli {

void register_version(CLI::App& app) {
  auto* cmd = app.add_subcommand("version", "Print the still version and the CPU paths it runs");
  static bool json = false;
  cmd->add_flag("--json", json, "One JSON object: version, cpu, kernels, bf16, onednn");
  cmd->callback([] {
    namespace k = kernels;
    const std::string kernels = k::isa_name(k::kernel_isa());
    const std::string bf16 = k::cpu_has_avx512_bf16() ? "avx512_bf16" : "portable";
    if (json) {
      const nlohmann::json j = {{"version", STILL_VERSION},
                                {"cpu", k::cpu_model_name()},
                                {"kernels", kernels},
                                {"bf16", bf16},
                                {"onednn", k::onednn_cpu_isa_name()}};
      std::printf("%s\n", j.dump().c_str());
      return;
    }
    std::printf("still %s\n", STILL_VERSION);
    std::printf("cpu: %s kernels: %s bf16: %s onednn: %s\n", k::cpu_model_name().c_str(),
                kernels.c_str(), bf16.c_str(), k::onednn_cpu_isa_name().c_str());
  });
}

}  // namespace still::cli
