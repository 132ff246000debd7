// `still report`: report.md and a self-contained report.html (inline CSS and SVG) from runs
// and eval results — the side-by-side table, training and held-out loss curves, quality
// versus parameters and versus compute spent, and each model's lineage from its manifest.
#pragma once
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace still::eval {

struct RunData {
  std::string name, dir;
  std::vector<nlohmann::json> metrics;  // metrics.jsonl records
  nlohmann::json manifest;              // newest checkpoint's manifest (null if none)
  std::string manifest_sha256;          // its hash: the model identity eval records
};

struct ReportData {
  std::vector<nlohmann::json> results;  // eval results documents
  std::vector<std::string> result_paths;
  std::vector<RunData> runs;
};

// Inputs: run directories, checkpoint directories, eval results files (.json) and folders
// holding eval-*.json. Runs named by results' models are added when their folder exists.
ReportData gather_report(const std::vector<std::string>& inputs);

struct ReportFiles {
  std::string markdown, html;
  std::vector<std::string> svgs;
};

// Renders into out_dir (created): report.md, report.html and the plots as .svg files.
ReportFiles write_report(const ReportData& data, const std::string& out_dir,
                         const std::string& title = "still report");

// Reads metrics.jsonl, skipping (and counting) lines that are not JSON objects.
std::vector<nlohmann::json> read_metrics(const std::string& path, int* skipped = nullptr);

}  // namespace still::eval
