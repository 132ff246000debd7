// Splits a corpus into named parts by document (e.g. teacher / signal / held-out), with a
// fixed hash of each document's index, so the same corpus always splits the same way and no
// document lands in two parts. Each part is written as a .txt corpus (documents separated by
// blank lines), atomically, with a manifest.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace still::train {

struct SplitPart {
  std::string name;                  // file is OUT/name.txt
  double fraction;                   // of documents; fractions must sum to 1
  int64_t documents = 0, bytes = 0;  // filled in
};

// Throws still::Error on a missing/empty corpus or bad fractions.
std::vector<SplitPart> split_corpus(const std::string& corpus, const std::string& out_dir,
                                    std::vector<SplitPart> parts);

}  // namespace still::train
