// `still demo`: the whole system on the bundled default (see demo/demo.h).
#include <cmath>
#include <cstdio>

#include "still/cli/commands.h"
#include "still/demo/demo.h"
#include "still/util/log.h"

namespace still::cli {

void register_demo(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "demo",
      "Run the whole system on the bundled default: split, teach, distil (+ CE baseline), "
      "eval, report");
  auto o = std::make_shared<demo::DemoOptions>();
  auto json = std::make_shared<bool>(false);
  cmd->add_option("--corpus", o->corpus, "Public-domain corpus (scripts/demo.sh writes one)")
      ->required();
  cmd->add_option("--teacher", o->teacher, "Teacher model (the shipped demo teacher)")->required();
  cmd->add_option("--student", o->student, "Student config")->capture_default_str();
  cmd->add_option("--out", o->out, "Output directory")->capture_default_str();
  cmd->add_option("--steps", o->steps, "Distil steps for the student and the baseline")
      ->capture_default_str();
  cmd->add_option("--max-windows", o->max_windows, "Signal windows to collect (0 = all)")
      ->capture_default_str();
  cmd->add_option("--eval-limit", o->eval_limit, "Held-out documents to score (0 = all)")
      ->capture_default_str();
  cmd->add_option("--top-k", o->top_k, "Teacher entries stored per position")
      ->capture_default_str();
  cmd->add_option("--threads", o->threads, "Threads (0 = every core)")->capture_default_str();
  cmd->add_flag("--json", *json, "Print the summary as JSON");
  cmd->callback([o, json] {
    demo::DemoResult r = demo::run_demo(*o);
    if (*json) {
      std::printf("%s\n", nlohmann::json({{"stages", r.stages},
                                          {"comparison", r.comparison},
                                          {"report", r.report},
                                          {"student_beats_baseline", r.student_beats_baseline}})
                              .dump(2)
                              .c_str());
      return;
    }
    std::printf("\n%-16s %16s %10s %12s\n", "model", "held-out nats", "ppl", "params");
    for (auto& row : r.comparison) {
      double n = row.value("heldout_nats_per_token", NAN);
      std::printf("%-16s %16.4f %10.3f %12s\n", row["model"].get<std::string>().c_str(), n,
                  std::exp(n),
                  row.contains("params") && row["params"].is_number()
                      ? format_count(row["params"].get<double>()).c_str()
                      : "-");
    }
    std::printf("\n%-34s %10s %10s\n", "stage", "took", "budget");
    for (auto& s : r.stages)
      std::printf("%-34s %10s %10s\n", s["stage"].get<std::string>().c_str(),
                  format_duration(s["seconds"].get<double>()).c_str(),
                  format_duration(s["budget_seconds"].get<double>()).c_str());
    std::printf("\nstudent %s its matched CE baseline on held-out perplexity\nreport: %s\n",
                r.student_beats_baseline ? "BEATS" : "does NOT beat", r.report.c_str());
  });
}

}  // namespace still::cli
