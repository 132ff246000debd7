// `still distil`: train a student on a stored teacher signal, and (with --baseline) the
// matched cross-entropy baseline on the same windows, then compare them side by side.
#include <cmath>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "still/cli/commands.h"
#include "still/cli/distil_generated.h"
#include "still/cli/train_flags.h"
#include "still/data/generated_corpus.h"
#include "still/data/signal_dir.h"
#include "still/io/atomic_file.h"
#include "still/modelio/load.h"
#include "still/modelio/open_model.h"
#include "still/train/distil.h"
#include "still/train/trainer.h"
#include "still/util/error.h"
#include "still/util/log.h"

namespace still::cli {
namespace {

// `--student` is a config (preset or JSON) or a model to start from.
void resolve_student(const std::string& student, train::TrainOptions& opt) {
  bool is_model = false;
  if (dir_exists(student) || (file_exists(student) && student.size() > 5 &&
                              student.substr(student.size() - 5) == ".gguf")) {
    try {
      locate_model(student);
      is_model = true;
    } catch (const Error&) {
    }
  }
  if (is_model) {
    opt.init = student;
    opt.config.clear();
  } else {
    opt.config = student;
  }
}

void print_comparison(const nlohmann::json& rows) {
  std::printf("%-10s %14s %10s %12s %12s %12s\n", "run", "held-out nats", "ppl", "top-1 agree",
              "KL(t||s)", "tail mass");
  for (auto& r : rows) {
    auto num = [&](const char* k) { return r.contains(k) ? r[k].get<double>() : NAN; };
    std::printf("%-10s %14.4f %10.3f %12.4f %12.4f %12.4f\n", r["run"].get<std::string>().c_str(),
                num("heldout_nats_per_token"), num("heldout_ppl"), num("heldout_agreement"),
                num("heldout_kl"), num("heldout_tail_mass"));
  }
}

}  // namespace

void register_distil(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "distil",
      "Train a student on a stored teacher signal with a KD loss (and, with --baseline, the "
      "matched cross-entropy baseline on the same windows); rerun to resume");
  cmd->option_defaults()->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  struct Args {
    train::TrainOptions opt;
    std::string student, tokenizer;
    bool baseline = false, json = false;
  };
  auto a = std::make_shared<Args>();
  a->opt.eval_every = 50;
  auto* signal =
      cmd->add_option("--signal", a->opt.signal, "Teacher signal directory (from `still teach`)");
  auto* generated = cmd->add_option(
      "--generated", a->opt.generated,
      "Teacher generations (from `still teach --generate`): sequence-level KD, cross-entropy "
      "on the teacher's samples");
  signal->excludes(generated);
  cmd->add_flag("--mask-prompt,!--no-mask-prompt", a->opt.mask_prompt,
                "With --generated: leave prompt tokens out of the loss (default on)");
  cmd->add_option("--seq", a->opt.seq,
                  "With --generated: tokens per row (default: the student's max_seq)");
  cmd->add_option("--student", a->student,
                  "Student: a config (preset or JSON) to train from scratch, or a model "
                  "(run/checkpoint directory, HF folder, GGUF) to start from")
      ->required();
  cmd->add_option("--loss", a->opt.loss, "fkl, rkl, jsd:BETA, or ce (plain cross-entropy)")
      ->capture_default_str();
  cmd->add_option("--alpha", a->opt.alpha, "Weight of the KD term; 1-alpha goes to hard labels")
      ->capture_default_str();
  cmd->add_option("--temperature", a->opt.temperature,
                  "Softening temperature (KD term scaled by T^2)")
      ->capture_default_str();
  cmd->add_option("--tokenizer", a->tokenizer,
                  "Tokenizer (default: the teacher's, found through the signal)");
  cmd->add_flag("--baseline", a->baseline,
                "Also train the matched CE baseline (same student, windows, steps) into "
                "OUT/baseline and compare");
  add_training_flags(cmd, a->opt);
  cmd->add_flag("--json", a->json, "Print the comparison as JSON");
  cmd->callback([a, cmd] {
    train::TrainOptions& opt = a->opt;
    resolve_student(a->student, opt);
    require(!opt.signal.empty() || !opt.generated.empty(),
            "give --signal (a top-k teacher signal) or --generated (teacher generations)");
    if (!opt.generated.empty())
      return run_distil_generated(cmd, opt, a->tokenizer, a->baseline, a->json);
    require(cmd->count("--mask-prompt") + cmd->count("--seq") == 0,
            "--mask-prompt and --seq apply to --generated only (a signal fixes its windows)");
    require(
        !train::is_generations_dir(opt.signal),
        opt.signal + " holds teacher generations, not a top-k signal: pass it with --generated");
    SignalDir sig(opt.signal);  // fails early, naming a damaged or unfinished signal
    if (!a->tokenizer.empty()) {
      opt.tokenizer = a->tokenizer;
    } else if (sig.meta().tokenizer_kind == "bytes") {
      opt.tokenizer = "bytes";
    } else if (!sig.meta().tokenizer_file.empty()) {
      // The signal's own copy (hash-checked with the signal's files): no teacher needed.
      opt.tokenizer = path_join(sig.dir(), sig.meta().tokenizer_file);
    } else {
      const std::string& teacher = sig.meta().teacher;
      require(file_exists(teacher) || dir_exists(teacher),
              "the signal's teacher " + teacher +
                  " is not here to take the tokenizer from; "
                  "pass --tokenizer with the teacher's tokenizer file");
      opt.tokenizer = model_tokenizer_spec(teacher);
    }
    nlohmann::json rows = nlohmann::json::array();
    if (a->baseline && opt.loss != "ce") {
      train::DistilRuns runs = train::distil_with_baseline(opt);
      rows.push_back(comparison_row("kd", runs.student));
      rows.push_back(comparison_row("ce", runs.baseline));
      nlohmann::json cmp = {
          {"signal", opt.signal},
          {"loss", opt.loss},
          {"alpha", opt.alpha},
          {"temperature", opt.temperature},
          {"runs", rows},
          {"kd_minus_ce_heldout_nats", runs.student.heldout_loss - runs.baseline.heldout_loss}};
      write_file_atomic(path_join(opt.out, "comparison.json"), cmp.dump(2) + "\n");
    } else {
      rows.push_back(comparison_row(opt.loss == "ce" ? "ce" : "kd", train::run(opt)));
    }
    if (a->json)
      std::printf("%s\n", rows.dump(2).c_str());
    else
      print_comparison(rows);
  });
}

}  // namespace still::cli
