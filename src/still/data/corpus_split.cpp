#include "still/data/corpus_split.h"

#include <cmath>

#include "still/data/corpus.h"
#include "still/data/manifest.h"
#include "still/io/atomic_file.h"
#include "still/util/error.h"
#include "still/util/rng.h"

namespace still::train {
namespace {
constexpr uint64_t kSplitSalt = 0x73706c6974ULL;  // "split"
}

std::vector<SplitPart> split_corpus(const std::string& corpus, const std::string& out_dir,
                                    std::vector<SplitPart> parts) {
  require(!parts.empty(), "split: name at least one part");
  double total = 0;
  for (auto& p : parts) {
    require(p.fraction > 0 && !p.name.empty() && p.name.find('/') == std::string::npos,
            "split: every part needs a plain name and a positive fraction");
    total += p.fraction;
  }
  require(std::abs(total - 1.0) < 1e-6,
          "split: fractions must sum to 1 (they sum to " + std::to_string(total) + ")");
  const double start = wall_seconds_now(), cpu = process_cpu_seconds();
  std::string content = read_file(corpus);
  bool jsonl = corpus.size() >= 6 && corpus.substr(corpus.size() - 6) == ".jsonl";
  auto docs = split_documents(content, jsonl, corpus);
  require(!docs.empty(), "corpus " + corpus + " is empty: nothing to split");
  std::vector<std::string> text(parts.size());
  for (size_t i = 0; i < docs.size(); ++i) {
    double u = double(mix_seed(kSplitSalt, uint64_t(i)) >> 11) * 0x1.0p-53;
    size_t k = 0;
    double acc = parts[0].fraction;
    while (u >= acc && k + 1 < parts.size()) acc += parts[++k].fraction;
    std::string& t = text[k];
    t += docs[i];
    if (t.empty() || t.back() != '\n') t += '\n';
    t += '\n';
    parts[k].documents += 1;
  }
  make_dirs(out_dir);
  Manifest m;
  m.kind = "corpus-split";
  m.command = command_line();
  m.add_input("data", corpus);
  for (size_t k = 0; k < parts.size(); ++k) {
    require(parts[k].documents > 0,
            "split: part '" + parts[k].name + "' got no documents; the corpus is too small for it");
    parts[k].bytes = int64_t(text[k].size());
    write_file_atomic(path_join(out_dir, parts[k].name + ".txt"), text[k]);
    m.add_file(out_dir, parts[k].name + ".txt");
    m.extra[parts[k].name] = {{"fraction", parts[k].fraction}, {"documents", parts[k].documents}};
  }
  m.compute.wall_seconds = wall_seconds_now() - start;
  m.compute.cpu_seconds = process_cpu_seconds() - cpu;
  m.write(out_dir);
  return parts;
}

}  // namespace still::train
