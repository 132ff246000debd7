#include "still/data/corpus.h"

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>

#include "still/io/atomic_file.h"
#include "still/util/error.h"
#include "still/util/rng.h"
#include "still/util/sha256.h"
#include "still/util/text.h"

namespace still::train {
namespace {

constexpr uint64_t kHeldoutSalt = 0x68656c646f7574ULL;  // "heldout"

bool is_blank(std::string_view line) {
  for (char c : line)
    if (c != ' ' && c != '\t' && c != '\r' && c != '\f' && c != '\v') return false;
  return true;
}

// Uniform in [0, 1), a fixed function of the document index.
double heldout_hash(int64_t i) {
  uint64_t h = mix_seed(kHeldoutSalt, uint64_t(i));
  return double(h >> 11) * 0x1.0p-53;
}

}  // namespace

void TokenDocs::add(const std::vector<int32_t>& doc, int64_t prompt) {
  if (prompt > 0 || !prompt_len.empty()) {
    prompt_len.resize(size_t(num_docs()), 0);  // documents before the first prompt have none
    prompt_len.push_back(prompt);
  }
  tokens.insert(tokens.end(), doc.begin(), doc.end());
  doc_start.push_back(int64_t(tokens.size()));
}

std::vector<char> choose_heldout(int64_t n, double fraction) {
  std::vector<char> held(size_t(n), 0);
  int64_t n_held = 0;
  for (int64_t i = 0; i < n; ++i) n_held += held[size_t(i)] = heldout_hash(i) < fraction;
  if (n > 0 && (n_held == 0 || n_held == n)) {
    // Too small for the fraction to pick anything (or everything): hold out exactly the
    // document with the smallest hash.
    int64_t best = 0;
    for (int64_t i = 1; i < n; ++i)
      if (heldout_hash(i) < heldout_hash(best)) best = i;
    std::fill(held.begin(), held.end(), 0);
    held[size_t(best)] = 1;
  }
  return held;
}

std::vector<std::string> split_documents(const std::string& content, bool jsonl,
                                         const std::string& what) {
  std::vector<std::string> docs;
  auto lines = split_lines(content);
  if (jsonl) {
    for (size_t i = 0; i < lines.size(); ++i) {
      if (is_blank(lines[i])) continue;
      auto j = nlohmann::json::parse(lines[i], nullptr, false);
      std::string where = what + " line " + std::to_string(i + 1);
      require(!j.is_discarded(), where + " is not valid JSON (expected {\"text\": \"...\"})");
      require(j.is_object() && j.contains("text") && j["text"].is_string(),
              where + " has no string field \"text\"");
      std::string text = j["text"].get<std::string>();
      if (!text.empty()) docs.push_back(std::move(text));
    }
    return docs;
  }
  // Blank lines separate documents only if one stands between two lines of text (leading
  // and trailing blank lines don't make a line-per-record file one block).
  bool any_blank = false, seen_text = false, blank_after_text = false;
  for (auto l : lines) {
    if (is_blank(l)) {
      blank_after_text = seen_text;
    } else {
      if (blank_after_text) any_blank = true;
      seen_text = true;
    }
  }
  std::string cur;
  for (auto l : lines) {
    bool blank = is_blank(l);
    if (!blank) {
      cur.append(l);
      cur += '\n';
    }
    if ((blank || !any_blank) && !cur.empty()) docs.push_back(std::move(cur)), cur.clear();
  }
  if (!cur.empty()) docs.push_back(std::move(cur));
  return docs;
}

Corpus make_corpus(const std::vector<std::string>& docs, const Tokenizer& tok,
                   const CorpusOptions& opt) {
  require(opt.heldout_fraction > 0 && opt.heldout_fraction < 0.5,
          "--heldout-fraction must be in (0, 0.5)");
  std::vector<std::vector<int32_t>> ids;
  ids.reserve(docs.size());
  for (auto& d : docs) {
    std::vector<int32_t> t;
    if (tok.bos_id() >= 0) t.push_back(tok.bos_id());
    auto body = tok.encode(d);
    t.insert(t.end(), body.begin(), body.end());
    if (tok.eos_id() >= 0) t.push_back(tok.eos_id());
    if (!body.empty()) ids.push_back(std::move(t));
  }
  Corpus c;
  c.num_documents = int64_t(ids.size());
  const int64_t n = c.num_documents;
  if (n == 1) {
    // One document: its tail is the held-out part.
    auto& t = ids[0];
    int64_t len = int64_t(t.size());
    int64_t tail = std::max<int64_t>(int64_t(std::ceil(opt.heldout_fraction * double(len))),
                                     opt.min_heldout_tokens);
    tail = std::min(tail, len / 2);
    require(tail >= 2, "corpus has a single document of " + std::to_string(len) +
                           " tokens: too small to split into train and held-out text");
    c.train.add(std::vector<int32_t>(t.begin(), t.end() - tail));
    c.heldout.add(std::vector<int32_t>(t.end() - tail, t.end()));
    return c;
  }
  std::vector<char> held = choose_heldout(n, opt.heldout_fraction);
  for (int64_t i = 0; i < n; ++i) (held[size_t(i)] ? c.heldout : c.train).add(ids[size_t(i)]);
  return c;
}

Corpus load_corpus(const std::string& path, const Tokenizer& tok, const CorpusOptions& opt) {
  require(file_exists(path), "corpus " + path + " does not exist (pass a .txt or .jsonl file)");
  std::string content = read_file(path);
  bool jsonl = path.size() >= 6 && path.compare(path.size() - 6, 6, ".jsonl") == 0;
  auto docs = split_documents(content, jsonl, path);
  require(!docs.empty(), "corpus " + path + " is empty: it holds no text to train on");
  Corpus c = make_corpus(docs, tok, opt);
  require(c.num_documents > 0, "corpus " + path + " yields no tokens with this tokenizer");
  c.sha256 = sha256_hex(content);
  return c;
}

}  // namespace still::train
