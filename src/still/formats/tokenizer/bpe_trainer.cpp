#include "still/formats/tokenizer/bpe_trainer.h"

#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <queue>
#include <unordered_map>

#include "still/formats/tokenizer/byte_level.h"
#include "still/formats/tokenizer/regex_splitter.h"
#include "still/formats/tokenizer/tokenizer_json_writer.h"
#include "still/util/error.h"
#include "still/util/log.h"

namespace still {
namespace {

using Pair = std::pair<int32_t, int32_t>;

struct PairHash {
  size_t operator()(const Pair& p) const {
    return std::hash<uint64_t>{}((uint64_t(uint32_t(p.first)) << 32) | uint32_t(p.second));
  }
};

struct Word {
  std::vector<int32_t> syms;
  int64_t freq;
};

struct Cand {
  int64_t count;
  Pair pair;
  // Highest count first; ties to the smaller ids (earlier-created tokens): deterministic.
  bool operator<(const Cand& o) const {
    if (count != o.count) return count < o.count;
    return pair > o.pair;
  }
};

}  // namespace

BpeTrainResult train_bpe(std::string_view corpus, const BpeTrainOptions& opt) {
  const int n_special = int(opt.special_tokens.size());
  require(opt.vocab_size >= 256 + n_special, "--vocab-size " + std::to_string(opt.vocab_size) +
                                                 " is too small: byte-level BPE needs 256 "
                                                 "byte tokens plus " +
                                                 std::to_string(n_special) + " special tokens");
  require(opt.vocab_size <= (1 << 22),
          "--vocab-size " + std::to_string(opt.vocab_size) + " is too large (at most 4194304)");
  // Count pre-tokens (words) once; merges then work on distinct words weighted by count.
  RegexSplitter splitter(kLlama3SplitRegex);
  std::unordered_map<std::string, int64_t> counts;
  {
    std::vector<std::string_view> pieces;
    const size_t chunk = 1 << 20;
    for (size_t pos = 0; pos < corpus.size();) {
      // Split at a newline so no pre-token straddles two chunks.
      size_t end = std::min(corpus.size(), pos + chunk);
      if (end < corpus.size()) {
        size_t nl = corpus.rfind('\n', end);
        if (nl != std::string_view::npos && nl > pos) end = nl + 1;
      }
      pieces.clear();
      splitter.split(corpus.substr(pos, end - pos), pieces);
      for (auto p : pieces) ++counts[std::string(p)];
      pos = end;
    }
  }
  std::vector<std::pair<std::string, int64_t>> sorted(counts.begin(), counts.end());
  std::sort(sorted.begin(), sorted.end());  // fixed order: results don't depend on hashing
  std::vector<Word> words;
  words.reserve(sorted.size());
  for (auto& [w, c] : sorted) {
    Word word{{}, c};
    for (char ch : w) word.syms.push_back(int32_t(uint8_t(ch)));
    words.push_back(std::move(word));
  }

  std::vector<std::string> tokens(256);  // id -> bytes
  for (int b = 0; b < 256; ++b) tokens[size_t(b)] = std::string(1, char(b));
  std::vector<Pair> merges;
  std::unordered_map<std::string, int32_t> token_ids;
  for (int b = 0; b < 256; ++b) token_ids[tokens[size_t(b)]] = b;

  std::unordered_map<Pair, int64_t, PairHash> pair_count;
  std::unordered_map<Pair, std::vector<int32_t>, PairHash> pair_words;
  std::priority_queue<Cand> heap;
  for (size_t wi = 0; wi < words.size(); ++wi) {
    const auto& s = words[wi].syms;
    for (size_t i = 0; i + 1 < s.size(); ++i) {
      Pair p{s[i], s[i + 1]};
      pair_count[p] += words[wi].freq;
      auto& ws = pair_words[p];
      if (ws.empty() || ws.back() != int32_t(wi)) ws.push_back(int32_t(wi));
    }
  }
  for (const auto& [p, c] : pair_count) heap.push({c, p});

  const int target_merges = opt.vocab_size - 256 - n_special;
  std::optional<Progress> progress;
  if (opt.progress) progress.emplace("bpe merges", target_merges, "merges");
  std::unordered_map<Pair, int64_t, PairHash> delta;
  while (int(tokens.size()) < 256 + target_merges && !heap.empty()) {
    Cand top = heap.top();
    heap.pop();
    auto it = pair_count.find(top.pair);
    if (it == pair_count.end() || it->second != top.count) continue;  // stale entry
    if (top.count < opt.min_frequency) break;
    const Pair p = top.pair;
    // Two pairs can spell the same bytes ("ab"+"c", "a"+"bc"): they share one token.
    std::string merged_bytes = tokens[size_t(p.first)] + tokens[size_t(p.second)];
    auto [tid, fresh] = token_ids.emplace(merged_bytes, int32_t(tokens.size()));
    if (fresh) tokens.push_back(merged_bytes);
    const int32_t new_id = tid->second;
    merges.push_back(p);
    delta.clear();
    std::vector<int32_t> affected;
    affected.swap(pair_words[p]);
    for (int32_t wi : affected) {
      Word& w = words[size_t(wi)];
      auto& s = w.syms;
      bool has = false;
      for (size_t i = 0; i + 1 < s.size(); ++i) has |= s[i] == p.first && s[i + 1] == p.second;
      if (!has) continue;
      for (size_t i = 0; i + 1 < s.size(); ++i) delta[{s[i], s[i + 1]}] -= w.freq;
      std::vector<int32_t> merged;
      merged.reserve(s.size());
      for (size_t i = 0; i < s.size(); ++i) {
        if (i + 1 < s.size() && s[i] == p.first && s[i + 1] == p.second) {
          merged.push_back(new_id);
          ++i;
        } else {
          merged.push_back(s[i]);
        }
      }
      s.swap(merged);
      for (size_t i = 0; i + 1 < s.size(); ++i) {
        Pair q{s[i], s[i + 1]};
        delta[q] += w.freq;
        if (q.first == new_id || q.second == new_id) {
          auto& ws = pair_words[q];
          if (ws.empty() || ws.back() != wi) ws.push_back(wi);
        }
      }
    }
    std::vector<std::pair<Pair, int64_t>> changes(delta.begin(), delta.end());
    std::sort(changes.begin(), changes.end());
    for (const auto& [q, d] : changes) {
      if (d == 0) continue;
      int64_t& c = pair_count[q];
      c += d;
      if (c <= 0)
        pair_count.erase(q);
      else
        heap.push({c, q});
    }
    pair_count.erase(p);
    if (progress && merges.size() % 64 == 0) progress->update(int64_t(tokens.size()) - 256);
  }
  if (progress) progress->finish(std::to_string(merges.size()) + " merges");

  // tokenizer.json, Hugging Face layout, byte-level alphabet.
  using Json = nlohmann::ordered_json;
  Json vocab = Json::object();
  for (size_t id = 0; id < tokens.size(); ++id) vocab[byte_level::bytes_to_chars(tokens[id])] = id;
  Json merge_list = Json::array();
  for (const auto& [a, b] : merges)
    merge_list.push_back({byte_level::bytes_to_chars(tokens[size_t(a)]),
                          byte_level::bytes_to_chars(tokens[size_t(b)])});
  Json added = Json::array();
  for (int i = 0; i < n_special; ++i)
    added.push_back(hf_json::added_token(tokens.size() + size_t(i),
                                         opt.special_tokens[size_t(i)], true, false));
  hf_json::BpeModel model{std::move(vocab), std::move(merge_list), true};
  Json j = hf_json::bpe_tokenizer(
      std::move(added),
      hf_json::split_sequence({kLlama3SplitRegex}, hf_json::byte_level(false, true, false)),
      hf_json::byte_level(true, false, true), hf_json::byte_level(true, true, true),
      std::move(model));
  BpeTrainResult r;
  r.tokenizer_json = j.dump(1) + "\n";
  r.vocab_size = int(tokens.size()) + n_special;
  r.merges = int(merges.size());
  return r;
}

}  // namespace still
