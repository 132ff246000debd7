#include "still/cli/distil_generated.h"

#include <cmath>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "still/cli/train_flags.h"
#include "still/data/generated_corpus.h"
#include "still/io/atomic_file.h"
#include "still/modelio/open_model.h"
#include "still/train/distil.h"
#include "still/util/error.h"
#include "still/util/log.h"

namespace still::cli {
namespace {

// The student's tokenizer: --tokenizer, else a student model's own, else the teacher's.
std::string student_tokenizer(const train::TrainOptions& opt, const std::string& flag) {
  if (!flag.empty()) return flag;
  if (!opt.init.empty()) return model_tokenizer_spec(opt.init);
  auto settings = nlohmann::json::parse(
      read_file(path_join(opt.generated, train::kGenerationSettingsFile)), nullptr, false);
  require(!settings.is_discarded() && settings.is_object(),
          path_join(opt.generated, train::kGenerationSettingsFile) + " is not valid JSON");
  if (settings.value("tokenizer_kind", "") == "bytes") return "bytes";
  std::string teacher = settings.value("teacher", "");
  require(file_exists(teacher) || dir_exists(teacher),
          "the generations' teacher " + teacher +
              " is not here to take the tokenizer from; "
              "pass --tokenizer (any tokenizer works for text; the teacher's is the default)");
  return model_tokenizer_spec(teacher);
}

}  // namespace

void run_distil_generated(const CLI::App* cmd, train::TrainOptions& opt,
                          const std::string& tokenizer, bool baseline, bool json) {
  for (const char* f : {"--loss", "--alpha", "--temperature"})
    require(cmd->count(f) == 0, std::string(f) +
                                    " does not apply to --generated: sequence-level "
                                    "KD trains with cross-entropy on the teacher's "
                                    "samples (use --signal for a KD loss)");
  require(!file_exists(path_join(opt.generated, "signal.json")),
          opt.generated + " is a teacher signal (top-k), not generations: pass it with --signal");
  require(train::is_generations_dir(opt.generated),
          opt.generated + " holds no generations (no " + train::kGenerationSettingsFile +
              "): make them with `still teach --generate`");
  require(file_exists(path_join(opt.generated, "manifest.json")),
          opt.generated + " is unfinished (no manifest.json): rerun its `still teach --generate`");
  opt.tokenizer = student_tokenizer(opt, tokenizer);
  if (baseline) {
    // Checked before the first run: the baseline needs a human reference for every prompt.
    std::string lines = read_file(path_join(opt.generated, train::kGenerationsFile));
    size_t nl = lines.find('\n');
    auto first = nlohmann::json::parse(lines.substr(0, nl), nullptr, false);
    require(first.is_object() && first.contains("reference"),
            "--baseline with --generated trains the same student on the prompts' reference "
            "completions, and " +
                opt.generated +
                " has none: give the prompts .jsonl a "
                "\"reference\" field, or drop --baseline");
  }
  opt.loss = "ce";
  nlohmann::json rows = nlohmann::json::array();
  if (baseline) {
    train::DistilRuns runs = train::distil_with_baseline(opt);
    rows.push_back(comparison_row("seqkd", runs.student));
    rows.push_back(comparison_row("reference", runs.baseline));
    nlohmann::json cmp = {
        {"generated", opt.generated}, {"mask_prompt", opt.mask_prompt}, {"runs", rows}};
    write_file_atomic(path_join(opt.out, "comparison.json"), cmp.dump(2) + "\n");
  } else {
    rows.push_back(comparison_row("seqkd", train::run(opt)));
  }
  if (json) {
    std::printf("%s\n", rows.dump(2).c_str());
    return;
  }
  std::printf("%-10s %22s %22s %10s\n", "run", "held-out nats (own)", "held-out nats (refs)",
              "steps");
  for (auto& r : rows) {
    auto num = [&](const char* k) { return r.contains(k) ? r[k].get<double>() : NAN; };
    std::printf("%-10s %22.4f %22.4f %10lld\n", r["run"].get<std::string>().c_str(),
                num("heldout_nats_per_token"), num("heldout_reference_loss"),
                (long long)r["steps"].get<int64_t>());
  }
}

}  // namespace still::cli
