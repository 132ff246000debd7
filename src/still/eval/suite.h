// Benchmark suites: a small JSON manifest naming tasks, their data files and each file's
// SHA-256. Loading a suite hashes every file and refuses data whose hash does not match,
// so two sites that report the same suite hash scored the same bytes ("mirrored
// benchmarks"). The suite hash covers the canonical manifest: suite name, each task's
// name, kind, format, window and the SHA-256 of the data it scores (after decompression,
// so the published .bz2 and a decompressed copy give the same hash; paths do not count).
//
//   {"still_suite": 1, "name": "hellaswag-val",
//    "tasks": [{"name": "hellaswag", "kind": "multiple_choice", "format": "hellaswag",
//               "path": "../shared/testdata/hellaswag/hellaswag_val_full.txt.bz2",
//               "sha256": "<file as given>", "content_sha256": "<decompressed>"}]}
//
// Relative paths resolve against the suite file's folder, then its parent folders (so a
// checkout and its worktrees find a shared data folder beside them).
#pragma once
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace still::eval {

enum class TaskKind { kPerplexity, kMultipleChoice };
const char* task_kind_name(TaskKind k);

struct SuiteTask {
  std::string name;
  TaskKind kind = TaskKind::kPerplexity;
  std::string format;          // perplexity: "text" | "jsonl"; multiple_choice: "hellaswag"
  std::string path;            // as written in the manifest
  std::string sha256;          // of the file as given ("" when only content_sha256 is known)
  std::string content_sha256;  // of the data scored (decompressed)
  int window = 0;              // perplexity: tokens per window; 0 = the model's max_seq

  // Filled by load_suite:
  std::string resolved_path;
  std::string content;  // the verified data
};

struct Suite {
  std::string name, description;
  std::string path;  // the manifest file
  std::vector<SuiteTask> tasks;
  std::string hash;  // SHA-256 of canonical()

  nlohmann::json canonical() const;
  // name, hash and per-task facts, for results files.
  nlohmann::json summary() const;
};

// Parses and checks a manifest's text (no data is read). `what` names it in errors.
Suite parse_suite(const std::string& text, const std::string& what);

// Reads the manifest, finds and hashes every data file and checks it against the
// manifest; throws a one-line still::Error naming the file on any mismatch. `data_overrides`
// maps a task name to the user's own copy of its data (checked the same way).
Suite load_suite(const std::string& path,
                 const std::map<std::string, std::string>& data_overrides = {});

// Writes a perplexity suite over text files (each a task named after its file stem):
// hashes each file and writes `suite_path` atomically with paths relative to its folder.
// Returns the loaded suite.
Suite make_text_suite(const std::string& suite_path, const std::string& name,
                      const std::vector<std::string>& text_files, int window = 0);

// Writes `docs` as one text file (documents separated by blank lines, the corpus reader's
// format) beside the suite, then makes the suite over it. For held-out slices of a corpus.
Suite make_text_suite_from_docs(const std::string& suite_path, const std::string& name,
                                const std::vector<std::string>& docs, int window = 0);

}  // namespace still::eval
