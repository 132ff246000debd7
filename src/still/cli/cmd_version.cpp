#include <cstdio>

#include "still/cli/commands.h"

namespace still::cli {

void register_version(CLI::App& app) {
  auto* cmd = app.add_subcommand("version", "Print the still version");
  cmd->callback([] { std::printf("still %s\n", STILL_VERSION); });
}

}  // namespace still::cli
