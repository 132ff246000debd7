// `still demo`: the whole system on the bundled default, stage by stage, each with a time
// budget: split the corpus (teacher / signal / held-out documents), collect the shipped
// teacher's top-k signal on the signal split, distil a student at least 4× smaller together
// with its matched cross-entropy baseline, evaluate teacher, student and baseline on the
// held-out split, and render the report. Every stage is resumable: a rerun skips finished work.
#pragma once
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

namespace still::demo {

struct DemoOptions {
  std::string corpus;   // public-domain text (scripts/demo.sh writes the KJV Bible)
  std::string teacher;  // the shipped demo teacher (examples/demo/teacher)
  std::string student = "examples/demo/student.json";
  std::string out = "runs/demo";
  int64_t steps = 600;        // distil steps (student and baseline each)
  int64_t max_windows = 0;    // signal windows (0 = the whole signal split)
  int64_t eval_limit = 0;     // held-out documents scored (0 = all)
  int batch = 8;
  int top_k = 32;
  double lr = 3e-3;
  double alpha = 0.9, temperature = 1.0;
  std::string loss = "fkl";
  int threads = 0;
};

struct DemoResult {
  nlohmann::json stages = nlohmann::json::array();  // name, seconds, budget_seconds
  nlohmann::json comparison;                        // teacher / student / baseline rows
  std::string report;                               // path of report.html
  bool student_beats_baseline = false;
};

DemoResult run_demo(const DemoOptions& opt);

}  // namespace still::demo
