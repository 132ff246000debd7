#include "still/formats/tokenizer/bpe_tokenizer.h"

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cstdio>
#include <cstring>
#include <queue>

#include "still/formats/tokenizer/byte_level.h"
#include "still/formats/tokenizer/nfc.h"
#include "still/formats/tokenizer/utf8.h"
#include "still/util/error.h"
#include "still/util/sha256.h"

namespace still {
namespace {

constexpr size_t kMaxVocab = size_t(1) << 24;
std::atomic<uint64_t> next_instance_id{1};

uint64_t pair_key(int32_t a, int32_t b) { return (uint64_t(uint32_t(a)) << 32) | uint32_t(b); }

bool parse_byte_token(std::string_view t, uint8_t* b) {
  if (t.size() != 6 || t.substr(0, 3) != "<0x" || t[5] != '>') return false;
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
  };
  int hi = hex(t[3]), lo = hex(t[4]);
  if (hi < 0 || lo < 0) return false;
  *b = uint8_t(hi * 16 + lo);
  return true;
}

bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

// Word characters for single_word added tokens: ASCII alphanumerics, '_' and any non-ASCII byte.
bool is_word_byte(char c) {
  auto u = uint8_t(c);
  return u >= 0x80 || std::isalnum(u) || c == '_';
}

// A "▁" at byte i that follows a character other than "▁": where a SentencePiece word starts.
bool is_word_start(std::string_view s, size_t i) {
  static constexpr std::string_view kMeta = "\u2581";
  return i > 0 && s.compare(i, 3, kMeta) == 0 && (i < 3 || s.compare(i - 3, 3, kMeta) != 0);
}

void replace_all(std::string& s, std::string_view from, std::string_view to) {
  if (from.empty()) return;
  std::string out;
  out.reserve(s.size());
  size_t pos = 0;
  for (size_t hit; (hit = s.find(from, pos)) != std::string::npos; pos = hit + from.size()) {
    out.append(s, pos, hit - pos);
    out += to;
  }
  out.append(s, pos, std::string::npos);
  s.swap(out);
}

}  // namespace

BpeTokenizer::BpeTokenizer(BpeSpec spec)
    : spec_(std::move(spec)), instance_id_(next_instance_id.fetch_add(1)) {
  const std::string& src = spec_.source;
  require(!spec_.vocab.empty(), src + ": the tokenizer has an empty vocabulary");
  require(spec_.vocab.size() <= kMaxVocab,
          src + ": vocabulary of " + std::to_string(spec_.vocab.size()) +
              " tokens is larger than the supported " + std::to_string(kMaxVocab));
  for (const auto& re : spec_.split_regexes) {
    try {
      splitters_.emplace_back(re);
    } catch (const Error& e) {
      throw Error(src + ": " + e.what());
    }
  }
  build_vocab();
  if (!spec_.merges.empty())
    build_merges_from_rules();
  else if (!spec_.scores.empty())
    build_merges_from_scores();
  compute_fingerprint();
}

BpeTokenizer::~BpeTokenizer() = default;

std::string BpeTokenizer::kind() const {
  return spec_.alphabet == BpeSpec::Alphabet::kByteLevel ? "bpe" : "spm-bpe";
}

void BpeTokenizer::build_vocab() {
  const std::string& src = spec_.source;
  const size_t n = spec_.vocab.size();
  bool byte_level = spec_.alphabet == BpeSpec::Alphabet::kByteLevel;
  is_added_.assign(n, false);
  for (const auto& a : spec_.added) {
    require(a.id >= 0 && size_t(a.id) < n, src + ": added token '" + a.content + "' has id " +
                                               std::to_string(a.id) +
                                               " outside the vocabulary of " + std::to_string(n));
    require(!a.content.empty(),
            src + ": added token with id " + std::to_string(a.id) + " has empty content");
    require(spec_.vocab[size_t(a.id)] == a.content,
            src + ": id " + std::to_string(a.id) + " is both '" + spec_.vocab[size_t(a.id)] +
                "' and added token '" + a.content + "'; fix the duplicate id");
    is_added_[size_t(a.id)] = true;
  }
  id_to_piece_.resize(n);
  piece_to_id_.reserve(n);
  StringMap text_to_id;
  text_to_id.reserve(n);
  for (size_t id = 0; id < n; ++id) {
    const std::string& t = spec_.vocab[id];
    if (t.empty()) continue;
    auto [it, fresh] = text_to_id.emplace(t, int32_t(id));
    require(fresh, src + ": token '" + t + "' appears twice (ids " + std::to_string(it->second) +
                       " and " + std::to_string(id) + "); each token needs one id");
    std::string piece;
    uint8_t b;
    if (is_added_[id]) {
      piece = t;
    } else if (byte_level) {
      auto bytes = byte_level::chars_to_bytes(t);
      piece = bytes ? *bytes : t;
    } else if (parse_byte_token(t, &b)) {
      piece.assign(1, char(b));
    } else {
      piece = t;
      replace_all(piece, "\u2581", " ");
    }
    id_to_piece_[id] = piece;
    if (!is_added_[id]) piece_to_id_.emplace(byte_level ? piece : t, int32_t(id));
  }

  std::fill(std::begin(byte_ids_), std::end(byte_ids_), -1);
  for (int b = 0; b < 256; ++b) {
    if (byte_level) {
      auto it = piece_to_id_.find(std::string(1, char(b)));
      require(it != piece_to_id_.end(),
              src + ": byte-level vocabulary has no token for byte " + std::to_string(b) + " ('" +
                  byte_level::byte_to_char(uint8_t(b)) + "'); the file is incomplete");
      byte_ids_[b] = it->second;
    } else {
      char name[8];
      std::snprintf(name, sizeof name, "<0x%02X>", b);
      auto it = text_to_id.find(std::string_view(name));
      if (it != text_to_id.end()) byte_ids_[b] = it->second;
      require(!spec_.byte_fallback || byte_ids_[b] >= 0,
              src + ": byte_fallback is on but the vocabulary lacks " + name);
    }
  }
  if (!spec_.unk_token.empty()) {
    auto it = text_to_id.find(spec_.unk_token);
    require(it != text_to_id.end(),
            src + ": unk_token '" + spec_.unk_token + "' is not in the vocabulary");
    unk_id_ = it->second;
  }
  for (int id : {spec_.bos_id, spec_.eos_id})
    require(id >= -1 && id < int(n),
            src + ": special token id " + std::to_string(id) + " is outside the vocabulary");
  // SentencePiece vocabularies: if no token has "▁" after another character, no merge can
  // cross the start of a "▁"-word, so words can be encoded one by one (and cached).
  if (!byte_level && spec_.byte_fallback && spec_.split_regexes.empty()) {
    split_words_ = true;  // cleared below if some token has "▁" inside
    for (const auto& t : spec_.vocab)
      for (size_t i = 1; i < t.size(); ++i)
        if (is_word_start(t, i)) split_words_ = false;
  }
  added_by_first_byte_.assign(256, {});
  for (size_t i = 0; i < spec_.added.size(); ++i)
    added_by_first_byte_[uint8_t(spec_.added[i].content[0])].push_back(int32_t(i));
}

void BpeTokenizer::build_merges_from_rules() {
  const std::string& src = spec_.source;
  StringMap text_to_id;
  text_to_id.reserve(spec_.vocab.size());
  for (size_t id = 0; id < spec_.vocab.size(); ++id)
    if (!spec_.vocab[id].empty()) text_to_id.emplace(spec_.vocab[id], int32_t(id));
  auto lookup = [&](const std::string& t, size_t rank) {
    auto it = text_to_id.find(t);
    require(it != text_to_id.end(), src + ": merge #" + std::to_string(rank) +
                                        " names unknown token '" + t +
                                        "'; the merges do not belong to this vocabulary");
    return it->second;
  };
  merges_.reserve(spec_.merges.size());
  for (size_t r = 0; r < spec_.merges.size(); ++r) {
    const auto& [a, b] = spec_.merges[r];
    int32_t ia = lookup(a, r), ib = lookup(b, r), im = lookup(a + b, r);
    merges_[pair_key(ia, ib)] = Merge{int32_t(r), im};  // a repeated rule: the last one wins
  }
}

void BpeTokenizer::build_merges_from_scores() {
  const std::string& src = spec_.source;
  require(spec_.scores.size() == spec_.vocab.size(),
          src + ": " + std::to_string(spec_.scores.size()) + " scores for " +
              std::to_string(spec_.vocab.size()) + " tokens; the file is inconsistent");
  // Equal scores share a rank so ties go to the leftmost pair, as in SentencePiece.
  std::vector<float> distinct(spec_.scores);
  std::sort(distinct.begin(), distinct.end(), std::greater<>());
  distinct.erase(std::unique(distinct.begin(), distinct.end()), distinct.end());
  for (size_t id = 0; id < spec_.vocab.size(); ++id) {
    const std::string& t = spec_.vocab[id];
    if (t.empty() || is_added_[id]) continue;
    int32_t rank = int32_t(
        std::lower_bound(distinct.begin(), distinct.end(), spec_.scores[id], std::greater<>()) -
        distinct.begin());
    for (size_t k = utf8::char_len(t, 0); k < t.size(); k += utf8::char_len(t, k)) {
      auto a = piece_to_id_.find(std::string_view(t).substr(0, k));
      auto b = piece_to_id_.find(std::string_view(t).substr(k));
      if (a == piece_to_id_.end() || b == piece_to_id_.end()) continue;
      merges_[pair_key(a->second, b->second)] = Merge{rank, int32_t(id)};
    }
  }
}

void BpeTokenizer::compute_fingerprint() {
  Sha256 h;
  auto field = [&](std::string_view s) {
    uint64_t n = s.size();
    h.update(&n, sizeof n);
    h.update(s);
  };
  field("still-bpe/1");
  field(spec_.alphabet == BpeSpec::Alphabet::kByteLevel ? "byte-level" : "chars");
  for (const auto& t : spec_.vocab) field(t);
  field("merges");
  std::vector<std::pair<uint64_t, Merge>> sorted(merges_.begin(), merges_.end());
  std::sort(sorted.begin(), sorted.end(),
            [](const auto& x, const auto& y) { return x.first < y.first; });
  for (const auto& [k, m] : sorted) {
    h.update(&k, sizeof k);
    h.update(&m.rank, sizeof m.rank);
    h.update(&m.merged, sizeof m.merged);
  }
  field("normalizer");
  for (const auto& s : spec_.normalizer) {
    field(std::to_string(int(s.kind)) + (s.first_segment_only ? "f" : "a") +
          (s.unless_present ? "u" : "p"));
    field(s.a);
    field(s.b);
  }
  field("split");
  for (const auto& r : spec_.split_regexes) field(r);
  field("added");
  for (const auto& a : spec_.added)
    field(std::to_string(a.id) + a.content + char('0' + a.special) + char('0' + a.lstrip) +
          char('0' + a.rstrip) + char('0' + a.single_word));
  field(std::string() + char('0' + spec_.ignore_merges) + char('0' + spec_.byte_fallback) +
        char('0' + spec_.add_prefix_space) + char('0' + spec_.strip_leading_space) +
        spec_.unk_token);
  fingerprint_ = h.hex();
}

const BpeTokenizer::Merge* BpeTokenizer::find_merge(int32_t a, int32_t b) const {
  auto it = merges_.find(pair_key(a, b));
  return it == merges_.end() ? nullptr : &it->second;
}

// Repeatedly merges the adjacent pair with the lowest rank (leftmost on ties). A heap of
// candidate pairs over a linked list keeps long pieces (runs of spaces) O(n log n).
void BpeTokenizer::apply_merges(std::vector<int32_t>& syms) const {
  const int n = int(syms.size());
  if (n < 2) return;
  struct Cand {
    int32_t rank, pos, left, right;
    bool operator>(const Cand& o) const { return rank != o.rank ? rank > o.rank : pos > o.pos; }
  };
  thread_local std::vector<int> next, prev;
  thread_local std::vector<Cand> heap_storage;
  next.resize(size_t(n));
  prev.resize(size_t(n));
  heap_storage.clear();
  std::priority_queue<Cand, std::vector<Cand>, std::greater<>> heap(std::greater<>(),
                                                                    std::move(heap_storage));
  for (int i = 0; i < n; ++i) {
    next[size_t(i)] = i + 1 < n ? i + 1 : -1;
    prev[size_t(i)] = i - 1;
  }
  auto push = [&](int i) {
    if (i < 0) return;
    int j = next[size_t(i)];
    if (j < 0) return;
    if (const Merge* m = find_merge(syms[size_t(i)], syms[size_t(j)]))
      heap.push(Cand{m->rank, i, syms[size_t(i)], syms[size_t(j)]});
  };
  for (int i = 0; i + 1 < n; ++i) push(i);
  while (!heap.empty()) {
    Cand c = heap.top();
    heap.pop();
    int i = c.pos, j = next[size_t(i)];
    // Stale entry: one side changed since it was pushed (merged tokens never repeat an id).
    if (syms[size_t(i)] != c.left || j < 0 || syms[size_t(j)] != c.right) continue;
    syms[size_t(i)] = find_merge(c.left, c.right)->merged;
    syms[size_t(j)] = -1;
    next[size_t(i)] = next[size_t(j)];
    if (next[size_t(j)] >= 0) prev[size_t(next[size_t(j)])] = i;
    push(prev[size_t(i)]);
    push(i);
  }
  size_t w = 0;
  for (int i = 0; i >= 0; i = next[size_t(i)]) syms[w++] = syms[size_t(i)];
  syms.resize(w);
}

namespace {

// Per-thread cache of encoded pre-tokens: words repeat (Zipf), so most pieces skip the merge
// loop. Keyed by tokenizer instance id (never reused, unlike an address) and cleared when
// another tokenizer uses the thread or it grows too large.
struct WordCache {
  uint64_t owner = 0;
  std::unordered_map<std::string, std::vector<int32_t>> words;
};
constexpr size_t kMaxCachedPieceBytes = 48;
constexpr size_t kMaxCachedWords = 1 << 16;

}  // namespace

void BpeTokenizer::encode_piece(std::string_view piece, std::vector<int32_t>& out) const {
  if (piece.empty()) return;
  thread_local WordCache cache;
  const bool cacheable = piece.size() <= kMaxCachedPieceBytes;
  if (cacheable) {
    if (cache.owner != instance_id_ || cache.words.size() >= kMaxCachedWords) {
      cache.words.clear();
      cache.owner = instance_id_;
    }
    auto hit = cache.words.find(std::string(piece));
    if (hit != cache.words.end()) {
      out.insert(out.end(), hit->second.begin(), hit->second.end());
      return;
    }
  }
  const size_t out_start = out.size();
  encode_piece_uncached(piece, out);
  if (cacheable)
    cache.words.emplace(std::string(piece),
                        std::vector<int32_t>(out.begin() + long(out_start), out.end()));
}

void BpeTokenizer::encode_piece_uncached(std::string_view piece, std::vector<int32_t>& out) const {
  thread_local std::vector<int32_t> syms;
  syms.clear();
  if (spec_.alphabet == BpeSpec::Alphabet::kByteLevel) {
    if (spec_.ignore_merges) {
      auto it = piece_to_id_.find(piece);
      if (it != piece_to_id_.end()) {
        out.push_back(it->second);
        return;
      }
    }
    for (char c : piece) syms.push_back(byte_ids_[uint8_t(c)]);
  } else {
    if (spec_.ignore_merges) {
      auto it = piece_to_id_.find(piece);
      if (it != piece_to_id_.end()) {
        out.push_back(it->second);
        return;
      }
    }
    for (size_t i = 0; i < piece.size();) {
      size_t n = utf8::char_len(piece, i);
      auto it = piece_to_id_.find(piece.substr(i, n));
      if (it != piece_to_id_.end()) {
        syms.push_back(it->second);
      } else if (spec_.byte_fallback) {
        for (size_t k = 0; k < n; ++k) syms.push_back(byte_ids_[uint8_t(piece[i + k])]);
      } else if (unk_id_ >= 0) {
        if (syms.empty() || syms.back() != unk_id_) syms.push_back(unk_id_);  // fuse unknowns
      }
      i += n;
    }
  }
  apply_merges(syms);
  out.insert(out.end(), syms.begin(), syms.end());
}

void BpeTokenizer::encode_segment(std::string_view text, bool first_segment, bool drop_breaks,
                                  std::vector<int32_t>& out) const {
  std::string norm(text);
  if (drop_breaks) std::erase(norm, '\xFF');
  for (const auto& step : spec_.normalizer) {
    if (step.first_segment_only && !first_segment) continue;
    switch (step.kind) {
      case BpeSpec::NormStep::kNfc:
        norm = nfc_normalize(norm);
        break;
      case BpeSpec::NormStep::kPrepend:
        if (!norm.empty() && !(step.unless_present && norm.starts_with(step.a)))
          norm.insert(0, step.a);
        break;
      case BpeSpec::NormStep::kReplace:
        replace_all(norm, step.a, step.b);
        break;
    }
  }
  if (spec_.add_prefix_space && !norm.empty() && norm[0] != ' ') norm.insert(0, 1, ' ');
  thread_local std::vector<std::string_view> pieces, next_pieces;
  pieces.assign(1, norm);
  if (split_words_) {  // "▁▁word" pieces: a run of "▁" and the characters up to the next run
    pieces.clear();
    std::string_view v(norm);
    size_t start = 0;
    for (size_t i = 1; i < v.size(); ++i)
      if (is_word_start(v, i)) {
        pieces.push_back(v.substr(start, i - start));
        start = i;
      }
    if (start < v.size()) pieces.push_back(v.substr(start));
  }
  for (const auto& splitter : splitters_) {
    next_pieces.clear();
    for (auto p : pieces) splitter.split(p, next_pieces);
    pieces.swap(next_pieces);
  }
  // encode_piece may re-enter nothing that touches `pieces`, so iterating it is safe.
  for (size_t i = 0; i < pieces.size(); ++i) encode_piece(pieces[i], out);
}

std::vector<int32_t> BpeTokenizer::encode_impl(std::string_view text, bool parse_special,
                                               bool drop_breaks) const {
  std::vector<int32_t> out;
  out.reserve(text.size() / 3 + 4);
  size_t seg_start = 0;
  bool first_segment = true;
  size_t i = 0;
  while (i < text.size()) {
    const auto& cands = added_by_first_byte_[uint8_t(text[i])];
    const AddedToken* best = nullptr;
    for (int32_t k : cands) {
      const AddedToken& a = spec_.added[size_t(k)];
      if (a.special && !parse_special) continue;
      if (text.compare(i, a.content.size(), a.content) != 0) continue;
      if (a.single_word) {
        size_t end = i + a.content.size();
        if ((i > 0 && is_word_byte(text[i - 1])) || (end < text.size() && is_word_byte(text[end])))
          continue;
      }
      if (!best || a.content.size() > best->content.size()) best = &a;
    }
    if (!best) {
      ++i;
      continue;
    }
    size_t start = i, end = i + best->content.size();
    if (best->lstrip)
      while (start > seg_start && is_space(text[start - 1])) --start;
    if (best->rstrip)
      while (end < text.size() && is_space(text[end])) ++end;
    if (start > seg_start || first_segment)
      encode_segment(text.substr(seg_start, start - seg_start), first_segment, drop_breaks, out);
    first_segment = false;
    out.push_back(best->id);
    seg_start = i = end;
  }
  if (seg_start < text.size())
    encode_segment(text.substr(seg_start), first_segment, drop_breaks, out);
  return out;
}

std::vector<int32_t> BpeTokenizer::encode(std::string_view text) const {
  return encode_impl(text, false);
}

std::vector<int32_t> BpeTokenizer::encode_special(std::string_view text) const {
  return encode_impl(text, true);
}

std::vector<int32_t> BpeTokenizer::encode_chat(std::string_view rendered) const {
  return encode_impl(rendered, true, true);
}

std::string BpeTokenizer::token_to_piece(int32_t id) const {
  if (id < 0 || size_t(id) >= id_to_piece_.size()) return {};
  return id_to_piece_[size_t(id)];
}

std::string BpeTokenizer::decode(const std::vector<int32_t>& ids) const {
  std::string s;
  for (int32_t id : ids)
    if (id >= 0 && size_t(id) < id_to_piece_.size()) s += id_to_piece_[size_t(id)];
  if (spec_.strip_leading_space && !s.empty() && s[0] == ' ') s.erase(0, 1);
  return s;
}

std::string BpeTokenizer::token_text(int32_t id) const {
  if (id < 0 || size_t(id) >= spec_.vocab.size()) return {};
  return spec_.vocab[size_t(id)];
}

int32_t BpeTokenizer::token_id(std::string_view text) const {
  for (size_t id = 0; id < spec_.vocab.size(); ++id)
    if (spec_.vocab[id] == text) return int32_t(id);
  return -1;
}

}  // namespace still
