// `still eval`: the same benchmark suite on every model, one table, one results file.
#include <omp.h>

#include <cstdio>
#include <filesystem>
#include <map>

#include "still/cli/commands.h"
#include "still/eval/evaluate.h"
#include "still/util/error.h"
#include "still/util/log.h"

namespace still::cli {

void register_eval(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "eval", "Score models (and their teacher) on one benchmark suite and print one table");
  struct Args {
    eval::EvalRequest req;
    std::string suite, out;
    std::vector<std::string> data, make_suite;
    int threads = 0;
    bool json = false;
  };
  auto a = std::make_shared<Args>();
  cmd->add_option(
      "--model", a->req.models,
      "Model: a still run or checkpoint, a Hugging Face folder or a GGUF file (repeat)");
  cmd->add_option("--teacher", a->req.teacher,
                  "Teacher: scored too, and the reference for top-1 match and KL");
  cmd->add_option("--suite", a->suite, "Suite manifest (e.g. suites/hellaswag-val.json)")
      ->required();
  cmd->add_option("--data", a->data,
                  "TASK=FILE: use your own copy of a task's data (its hash is checked)");
  cmd->add_option("--make-suite", a->make_suite,
                  "Write --suite as a perplexity suite over these text files (hashed), then exit");
  cmd->add_option("--limit", a->req.task.limit, "Score at most N documents / items per task")
      ->capture_default_str();
  cmd->add_option("--batch", a->req.task.batch_rows, "Rows per forward pass (perplexity)")
      ->capture_default_str();
  cmd->add_option("--out", a->out, "Results file (default eval-SUITE.json)");
  cmd->add_option("--threads", a->threads, "Threads (0 = every core)")->capture_default_str();
  cmd->add_flag("--json", a->json, "Print the results document as JSON");
  cmd->callback([a] {
    if (a->threads > 0) omp_set_num_threads(a->threads);
    if (!a->make_suite.empty()) {
      std::string name = std::filesystem::path(a->suite).stem().string();
      eval::Suite s = eval::make_text_suite(a->suite, name, a->make_suite);
      std::printf("suite %s: %zu task(s), hash %s\n", a->suite.c_str(), s.tasks.size(),
                  s.hash.c_str());
      return;
    }
    require(!a->req.models.empty() || !a->req.teacher.empty(), "give at least one --model");
    std::map<std::string, std::string> overrides;
    for (auto& d : a->data) {
      auto eq = d.find('=');
      require(eq != std::string::npos && eq > 0, "--data " + d + ": expected TASK=FILE");
      overrides[d.substr(0, eq)] = d.substr(eq + 1);
    }
    eval::Suite suite = eval::load_suite(a->suite, overrides);
    nlohmann::json results = eval::run_eval(suite, a->req);
    std::string out = a->out.empty() ? "eval-" + suite.name + ".json" : a->out;
    eval::save_results(out, results);
    if (a->json) {
      std::printf("%s\n", results.dump(2).c_str());
      return;
    }
    std::printf("suite %s (hash %s)%s\n\n", suite.name.c_str(), suite.hash.substr(0, 12).c_str(),
                a->req.task.limit > 0
                    ? (", first " + std::to_string(a->req.task.limit) + " per task").c_str()
                    : "");
    std::printf("%s\n", eval::format_text_table(eval::results_table(results)).c_str());
    std::printf("results: %s\n", out.c_str());
  });
}

}  // namespace still::cli
