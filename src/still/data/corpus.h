// Training text: reads a corpus file into documents, tokenizes them, and splits them into a
// train part and a held-out part that training never sees.
//
// Documents: in a .jsonl file, the "text" field of each line. In a plain text file, blocks
// separated by blank lines (lines holding only whitespace); a text file without any blank
// line is read as one document per line (the usual "one record per line" layout). Each
// document is stored as its lines joined with '\n' plus a final '\n'. If the tokenizer has
// BOS/EOS ids, every document gets them.
//
// Held-out split: document i is held out when a hash of i (fixed salt, independent of the
// training seed, so every run of a corpus evaluates on the same text) falls below the
// held-out fraction. A corpus too small to give any held-out document still gets one: the
// document with the smallest hash, or — for a single document — its tail.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "still/formats/tokenizer/tokenizer.h"

namespace still::train {

// Token ids of many documents, concatenated; doc_start has one more entry than there are
// documents (doc d is tokens[doc_start[d], doc_start[d+1])).
// prompt_len (empty unless some document has a prompt) counts each document's leading prompt
// tokens: targets that are prompt tokens are not scored (sequence-level KD masks the prompt).
struct TokenDocs {
  std::vector<int32_t> tokens;
  std::vector<int64_t> doc_start{0};
  std::vector<int64_t> prompt_len;
  int64_t num_docs() const { return int64_t(doc_start.size()) - 1; }
  int64_t doc_len(int64_t d) const { return doc_start[size_t(d) + 1] - doc_start[size_t(d)]; }
  int64_t doc_prompt(int64_t d) const { return prompt_len.empty() ? 0 : prompt_len[size_t(d)]; }
  void add(const std::vector<int32_t>& doc, int64_t prompt = 0);
};

// Which of n documents (or prompt groups) are held out: a fixed hash of the index below
// `fraction`; if that picks none or all, exactly the one with the smallest hash.
std::vector<char> choose_heldout(int64_t n, double fraction);

// Splits a corpus file's bytes into document texts (see the rules above). `what` names
// the file in errors.
std::vector<std::string> split_documents(const std::string& content, bool jsonl,
                                         const std::string& what);

struct Corpus {
  TokenDocs train, heldout;
  std::string sha256;  // of the corpus file
  int64_t num_documents = 0;
};

struct CorpusOptions {
  double heldout_fraction = 0.03;
  int min_heldout_tokens = 0;  // the tail split of a single document keeps at least this many
};

// Reads, tokenizes and splits. Throws still::Error for a missing, unreadable or empty
// corpus, or one whose text yields no tokens.
Corpus load_corpus(const std::string& path, const Tokenizer& tok, const CorpusOptions& opt);
// The same from document texts already in memory (tests).
Corpus make_corpus(const std::vector<std::string>& docs, const Tokenizer& tok,
                   const CorpusOptions& opt);

}  // namespace still::train
