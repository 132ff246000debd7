// Fixtures for the trainer's CLI tests: a small synthetic corpus and `still train` command
// lines.
#pragma once
#include <string>
#include <vector>

#include "still/io/atomic_file.h"
#include "still/util/rng.h"
#include "test_helpers.h"

namespace still {

// Documents of short sentences from a tiny grammar: learnable by a tiny model in a few
// dozen steps, varied enough that held-out text is not a copy of the training text.
inline std::string synthetic_corpus(int docs, uint64_t seed = 1) {
  static const char* subj[] = {"the cat", "a dog", "the bird", "my friend", "the farmer"};
  static const char* verb[] = {"sees", "likes", "finds", "follows", "feeds"};
  static const char* obj[] = {"the river", "a stone", "the old tree", "the sun", "a small house"};
  Rng r(seed);
  std::string out;
  for (int d = 0; d < docs; ++d) {
    int sentences = 2 + int(r.below(4));
    for (int s = 0; s < sentences; ++s) {
      out += subj[r.below(5)];
      out += " ";
      out += verb[r.below(5)];
      out += " ";
      out += obj[r.below(5)];
      out += ".\n";
    }
    out += "\n";
  }
  return out;
}

inline std::string write_corpus(const std::string& dir, int docs = 200) {
  std::string p = dir + "/corpus.txt";
  write_file_atomic(p, synthetic_corpus(docs));
  return p;
}

// The still binary for shell commands. Passive OpenMP waiting: on a shared, oversubscribed
// machine (CI runners, several test processes at once) spinning threads make a 2-thread run
// many times slower; results are the same either way.
inline std::string still_cmd() { return "OMP_WAIT_POLICY=passive " + still_bin(); }

// Lines of `out` that start with "still: error".
inline std::vector<std::string> error_lines(const std::string& out) {
  std::vector<std::string> v;
  size_t pos = 0;
  while (pos < out.size()) {
    size_t nl = out.find('\n', pos);
    if (nl == std::string::npos) nl = out.size();
    std::string line = out.substr(pos, nl - pos);
    if (line.rfind("still: error", 0) == 0) v.push_back(line);
    pos = nl + 1;
  }
  return v;
}

}  // namespace still
