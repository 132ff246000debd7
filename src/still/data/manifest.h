// The manifest written beside every artifact: what files it holds (SHA-256, size), what it
// was made from (the manifests of its inputs), the command that made it, the still
// version, and the compute it cost. Every command that writes an artifact uses this.
#pragma once
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "still/util/clock.h"  // what ComputeSpent is measured with

namespace still {

struct ComputeSpent {
  double wall_seconds = 0;
  double cpu_seconds = 0;
  double flops = 0;    // model FLOPs (matmul + attention), not counting overheads
  int64_t tokens = 0;  // tokens processed
  int threads = 0;
};

struct ManifestInput {
  std::string role;         // "data", "teacher", "init", "tokenizer", ...
  std::string path;         // as given by the user
  std::string sha256;       // of the input file, or of the input artifact's manifest.json
  nlohmann::json manifest;  // the input's own manifest, when it has one (lineage)
};

class Manifest {
 public:
  static constexpr const char* kFileName = "manifest.json";

  std::string kind;                  // "checkpoint", "signal", "corpus", ...
  std::vector<std::string> command;  // argv of the command that made it
  std::vector<ManifestInput> inputs;
  ComputeSpent compute;
  nlohmann::json extra = nlohmann::json::object();  // kind-specific facts

  // Hashes `dir/name` and records it. Call after the file is final.
  void add_file(const std::string& dir, const std::string& name);
  // Records an input; if `path` is a directory holding a manifest, embeds that manifest.
  void add_input(const std::string& role, const std::string& path);

  nlohmann::json to_json() const;
  static Manifest from_json(const nlohmann::json& j);
  // Writes dir/manifest.json atomically.
  void write(const std::string& dir) const;
  static Manifest load(const std::string& dir);
  // Re-hashes every listed file; throws still::Error naming the first missing or damaged one.
  void verify(const std::string& dir) const;

  struct FileEntry {
    std::string name, sha256;
    uint64_t bytes = 0;
  };
  const std::vector<FileEntry>& files() const { return files_; }

 private:
  std::vector<FileEntry> files_;
};

// The process's command line, recorded once by the CLI so manifests can cite it.
void set_command_line(int argc, char** argv);
const std::vector<std::string>& command_line();

}  // namespace still
