// `still split`: split a corpus by document into parts (e.g. teacher / signal / held-out).
#include <cstdio>
#include <nlohmann/json.hpp>

#include "still/cli/commands.h"
#include "still/data/corpus_split.h"
#include "still/util/error.h"

namespace still::cli {

void register_split(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "split", "Split a corpus by document into parts, e.g. teacher=0.7 signal=0.2 heldout=0.1");
  struct Args {
    std::string data, out;
    std::vector<std::string> parts;
    bool json = false;
  };
  auto a = std::make_shared<Args>();
  cmd->add_option("--data", a->data, "Corpus (.txt with blank-line separated documents, .jsonl)")
      ->required();
  cmd->add_option("--out", a->out, "Directory for NAME.txt files and manifest.json")->required();
  cmd->add_option("parts", a->parts, "NAME=FRACTION ... (fractions sum to 1)")->required();
  cmd->add_flag("--json", a->json, "Print the result as JSON");
  cmd->callback([a] {
    std::vector<train::SplitPart> parts;
    for (auto& p : a->parts) {
      auto eq = p.find('=');
      require(eq != std::string::npos && eq > 0,
              "split: write parts as NAME=FRACTION, got '" + p + "'");
      char* end = nullptr;
      double f = std::strtod(p.c_str() + eq + 1, &end);
      require(end && *end == 0, "split: '" + p.substr(eq + 1) + "' is not a number");
      parts.push_back({p.substr(0, eq), f});
    }
    parts = train::split_corpus(a->data, a->out, parts);
    nlohmann::json j = nlohmann::json::array();
    for (auto& p : parts) {
      j.push_back({{"name", p.name}, {"documents", p.documents}, {"bytes", p.bytes}});
      if (!a->json)
        std::printf("%-10s %8lld documents %10lld bytes  %s/%s.txt\n", p.name.c_str(),
                    (long long)p.documents, (long long)p.bytes, a->out.c_str(), p.name.c_str());
    }
    if (a->json) std::printf("%s\n", j.dump(2).c_str());
  });
}

}  // namespace still::cli
