#include "still/demo/demo.h"

#include <omp.h>

#include <cmath>

#include "still/data/corpus_split.h"
#include "still/data/manifest.h"
#include "still/eval/evaluate.h"
#include "still/eval/report.h"
#include "still/eval/suite.h"
#include "still/io/atomic_file.h"
#include "still/modelio/open_model.h"
#include "still/teach/teach.h"
#include "still/train/distil.h"
#include "still/util/error.h"
#include "still/util/log.h"

namespace still::demo {
namespace {

// Written budgets (seconds on 2 cores) for the default settings; docs/demo.md explains them.
struct Stage {
  const char* name;
  double budget;
};
constexpr Stage kSplit{"split corpus", 10};
constexpr Stage kTeach{"teach (top-k signal)", 120};
constexpr Stage kDistil{"distil student + CE baseline", 540};
constexpr Stage kEval{"eval teacher, student, baseline", 150};
constexpr Stage kReport{"report", 20};

class StageTimer {
 public:
  StageTimer(DemoResult& r, const Stage& s) : r_(r), s_(s), t0_(wall_seconds_now()) {
    log_info("== demo: " + std::string(s.name) + " (budget " + format_duration(s.budget) + ")");
  }
  ~StageTimer() {
    double dt = wall_seconds_now() - t0_;
    r_.stages.push_back({{"stage", s_.name}, {"seconds", dt}, {"budget_seconds", s_.budget}});
    if (dt > s_.budget)
      log_warn(std::string(s_.name) + " took " + format_duration(dt) + ", over its budget of " +
               format_duration(s_.budget) + " (a loaded machine?)");
  }

 private:
  DemoResult& r_;
  Stage s_;
  double t0_;
};

const nlohmann::json* find_model(const nlohmann::json& results, const std::string& path) {
  for (auto& m : results["models"])
    if (m.value("path", "") == path) return &m;
  return nullptr;
}

}  // namespace

DemoResult run_demo(const DemoOptions& opt) {
  require(file_exists(opt.corpus), "demo corpus " + opt.corpus +
                                       " does not exist (scripts/demo.sh prepares it from "
                                       "Debian's bible-kjv)");
  require(file_exists(opt.teacher) || dir_exists(opt.teacher),
          "demo teacher " + opt.teacher + " does not exist (it ships in examples/demo/teacher)");
  if (opt.threads > 0) omp_set_num_threads(opt.threads);
  DemoResult r;
  make_dirs(opt.out);
  const std::string data = path_join(opt.out, "data");
  {
    StageTimer t(r, kSplit);
    // The teacher was trained on the "teacher" part of this very split (examples/demo/recipe.sh).
    train::split_corpus(opt.corpus, data, {{"teacher", 0.6}, {"signal", 0.3}, {"heldout", 0.1}});
  }
  const std::string signal = path_join(opt.out, "signal");
  {
    StageTimer t(r, kTeach);
    OpenedModel teacher = open_model(opt.teacher);
    TeachOptions to;
    to.data = path_join(data, "signal.txt");
    to.out = signal;
    to.k = opt.top_k;
    to.max_windows = opt.max_windows;
    TeacherHandle th{teacher.model.get(), teacher.tokenizer.get(), opt.teacher, teacher.resolved,
                     teacher.sha256};
    run_teach(to, th);
  }
  const std::string student = path_join(opt.out, "student");
  const std::string baseline = path_join(student, "baseline");
  {
    StageTimer t(r, kDistil);
    train::TrainOptions to;
    to.signal = signal;
    to.config = opt.student;
    to.tokenizer = model_tokenizer_spec(opt.teacher);
    to.out = student;
    to.steps = opt.steps;
    to.batch = opt.batch;
    to.lr = opt.lr;
    to.loss = opt.loss;
    to.alpha = opt.alpha;
    to.temperature = opt.temperature;
    to.eval_every = std::max<int64_t>(1, opt.steps / 6);
    to.save_every = std::max<int64_t>(1, opt.steps / 3);
    to.threads = opt.threads;
    train::distil_with_baseline(to);  // the baseline into student/baseline
  }
  const std::string results_path = path_join(opt.out, "eval-heldout.json");
  nlohmann::json results;
  {
    StageTimer t(r, kEval);
    eval::Suite suite = eval::make_text_suite(path_join(opt.out, "heldout-suite.json"),
                                              "demo-heldout", {path_join(data, "heldout.txt")});
    eval::EvalRequest req;
    req.models = {student, baseline};
    req.teacher = opt.teacher;
    req.task.limit = opt.eval_limit;
    results = eval::run_eval(suite, req);
    eval::save_results(results_path, results);
  }
  {
    StageTimer t(r, kReport);
    auto report = eval::gather_report({student, baseline, results_path});
    auto files = eval::write_report(report, path_join(opt.out, "report"),
                                    "still demo: distilling a byte-level Llama on the KJV Bible");
    r.report = files.html;
  }
  // The summary: held-out nats/token of each model from the eval, with KD vs CE.
  auto nats = [&](const nlohmann::json* m) {
    if (!m) return NAN;
    for (auto& [name, task] : (*m)["tasks"].items())
      if (task.value("kind", "") == "perplexity") return task.value("nats_per_token", NAN);
    return NAN;
  };
  const nlohmann::json* mt = find_model(results, opt.teacher);
  const nlohmann::json* ms = find_model(results, student);
  const nlohmann::json* mb = find_model(results, baseline);
  r.comparison = nlohmann::json::array();
  for (auto [label, m] : {std::pair{"teacher", mt}, {"student (KD)", ms}, {"baseline (CE)", mb}}) {
    nlohmann::json row = {{"model", label}, {"heldout_nats_per_token", nats(m)}};
    if (m) {
      row["params"] = (*m).value("params", nlohmann::json());
      if ((*m).contains("agreement") && !(*m)["agreement"].is_null())
        row["top1_match"] = (*m)["agreement"].value("top1_match", NAN);
    }
    r.comparison.push_back(row);
  }
  r.student_beats_baseline = nats(ms) < nats(mb);
  write_file_atomic(path_join(opt.out, "demo-summary.json"),
                    nlohmann::json({{"stages", r.stages},
                                    {"comparison", r.comparison},
                                    {"report", r.report},
                                    {"student_beats_baseline", r.student_beats_baseline}})
                            .dump(2) +
                        "\n");
  return r;
}

}  // namespace still::demo
