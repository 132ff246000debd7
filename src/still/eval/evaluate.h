// `still eval`'s core: every model scored on the same suite, one results document with the
// suite hash and each model's identity, and the aligned table people read.
#pragma once
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "still/eval/suite.h"
#include "still/eval/tasks.h"

namespace still::eval {

struct EvalRequest {
  std::vector<std::string> models;  // run, checkpoint or model directories
  std::string teacher;              // optional: scored too, and the reference for agreement
  TaskOptions task;
};

// Loads each model in turn, scores every task of `suite`, and returns the results document
// (format below). Throws still::Error naming the model or data at fault.
//
//   {"still_eval": 1, "suite": {name, hash, tasks...}, "limit": N, "teacher": label|null,
//    "models": [{"label", "role": "teacher"|"model", "path", "resolved", "identity",
//                "run_dir", "params", "size_bytes", "tokenizer", "config",
//                "tasks": {NAME: {"kind": "perplexity", "nats_per_token", "ppl", ...} |
//                                {"kind": "multiple_choice", "acc", "acc_norm", ...}},
//                "ece", "agreement": {"top1_match", "mean_kl", "positions"} | null,
//                "tokens_per_second", "peak_rss_bytes", "seconds", "manifest"}]}
nlohmann::json run_eval(const Suite& suite, const EvalRequest& req);

// Writes the document atomically.
void save_results(const std::string& path, const nlohmann::json& results);
// Reads a results document; throws naming the file if it is not one.
nlohmann::json load_results(const std::string& path);

// Results are comparable only when they scored the same suite hash. Throws a one-line
// still::Error naming both when they did not.
void require_same_suite(const nlohmann::json& a, const std::string& what_a, const nlohmann::json& b,
                        const std::string& what_b);

// One row per model, one column per figure, as cells (header first). Shared by the
// terminal table and the report's tables.
std::vector<std::vector<std::string>> results_table(const nlohmann::json& results);
std::string format_text_table(const std::vector<std::vector<std::string>>& cells);
std::string format_markdown_table(const std::vector<std::vector<std::string>>& cells);

// Peak resident memory of this process (getrusage), in bytes, since the last reset.
int64_t peak_rss_bytes();
void reset_peak_rss();

}  // namespace still::eval
