// `still report`: report.md + self-contained report.html from runs and eval results.
#include <cstdio>
#include <nlohmann/json.hpp>

#include "still/cli/commands.h"
#include "still/eval/report.h"

namespace still::cli {

void register_report(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "report",
      "Render report.md and report.html: results table, loss curves, quality vs cost, "
      "lineage");
  struct Args {
    std::vector<std::string> inputs;
    std::string out = "report", title = "still report";
    bool json = false;
  };
  auto a = std::make_shared<Args>();
  cmd->add_option("inputs", a->inputs,
                  "Run directories, checkpoint directories, eval results files (still eval --out)")
      ->required();
  cmd->add_option("--out", a->out, "Folder to write the report into")->capture_default_str();
  cmd->add_option("--title", a->title, "Report title")->capture_default_str();
  cmd->add_flag("--json", a->json, "Print the written paths as JSON");
  cmd->callback([a] {
    auto data = eval::gather_report(a->inputs);
    auto files = eval::write_report(data, a->out, a->title);
    if (a->json) {
      nlohmann::json j = {{"markdown", files.markdown}, {"html", files.html}, {"svgs", files.svgs}};
      std::printf("%s\n", j.dump(2).c_str());
    } else {
      std::printf("report: %s (and %s)\n", files.html.c_str(), files.markdown.c_str());
    }
  });
}

}  // namespace still::cli
