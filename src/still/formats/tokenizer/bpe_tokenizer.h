// BPE tokenizers from Hugging Face tokenizer.json, GPT-2 encoder.json/vocab.bpe and GGUF
// vocabularies: byte-level BPE (GPT-2, Llama 3, Qwen2) and character BPE with byte fallback
// (Llama 2's SentencePiece vocabulary, merged by rank or by SentencePiece score).
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "still/formats/tokenizer/regex_splitter.h"
#include "still/formats/tokenizer/tokenizer.h"

namespace still {

// Everything a BPE tokenizer is made of, as read from a file (before validation).
struct BpeSpec {
  std::string source;  // file name, for error messages
  // kByteLevel: merges operate on GPT-2's byte alphabet. kChars: on UTF-8 characters, with
  // "▁" for spaces and <0xNN> tokens for bytes missing from the vocabulary (SentencePiece).
  enum class Alphabet { kByteLevel, kChars } alphabet = Alphabet::kByteLevel;
  std::vector<std::string> vocab;  // id -> stored token text; "" marks an unused id
  // Merge rules, highest priority first. Empty with non-empty `scores`: merge the adjacent
  // pair whose concatenation is the vocabulary entry with the highest score (SentencePiece).
  std::vector<std::pair<std::string, std::string>> merges;
  std::vector<float> scores;
  bool ignore_merges = false;  // a pre-token that is itself a vocab entry is emitted whole
  bool byte_fallback = false;  // unknown characters become <0xNN> tokens
  std::string unk_token;       // used when neither the vocab nor byte fallback can encode

  // Normalisation of each text segment between added tokens, in order.
  struct NormStep {
    enum Kind { kNfc, kPrepend, kReplace } kind;
    std::string a, b;  // kPrepend: a; kReplace: a -> b
    bool first_segment_only = false;
    bool unless_present = false;  // kPrepend: skip when the text already starts with `a`
  };
  std::vector<NormStep> normalizer;
  std::vector<std::string> split_regexes;  // applied in sequence, each "Isolated"
  bool add_prefix_space = false;           // ByteLevel: prepend ' ' unless text starts with one
  bool strip_leading_space = false;        // decoder drops one leading space

  std::vector<AddedToken> added;
  int bos_id = -1, eos_id = -1;
  std::string chat_template;
};

class BpeTokenizer : public Tokenizer {
 public:
  explicit BpeTokenizer(BpeSpec spec);  // validates; throws still::Error naming spec.source
  ~BpeTokenizer() override;

  std::vector<int32_t> encode(std::string_view text) const override;
  std::vector<int32_t> encode_special(std::string_view text) const override;
  std::vector<int32_t> encode_chat(std::string_view rendered) const override;
  std::string decode(const std::vector<int32_t>& ids) const override;
  std::string token_to_piece(int32_t id) const override;
  bool strips_leading_space() const override { return spec_.strip_leading_space; }
  std::string token_text(int32_t id) const override;
  int32_t token_id(std::string_view text) const override;
  const std::vector<AddedToken>& added_tokens() const override { return spec_.added; }
  int vocab_size() const override { return int(spec_.vocab.size()); }
  int bos_id() const override { return spec_.bos_id; }
  int eos_id() const override { return spec_.eos_id; }
  std::string chat_template() const override { return spec_.chat_template; }
  std::string kind() const override;
  std::string fingerprint() const override { return fingerprint_; }
  const BpeSpec& spec() const { return spec_; }

 private:
  struct StringHash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  using StringMap = std::unordered_map<std::string, int32_t, StringHash, std::equal_to<>>;
  struct Merge {
    int32_t rank, merged;
  };

  void build_vocab();
  void build_merges_from_rules();
  void build_merges_from_scores();
  void compute_fingerprint();
  std::vector<int32_t> encode_impl(std::string_view text, bool parse_special,
                                   bool drop_breaks = false) const;
  void encode_segment(std::string_view text, bool first_segment, bool drop_breaks,
                      std::vector<int32_t>& out) const;
  void encode_piece(std::string_view piece, std::vector<int32_t>& out) const;
  void encode_piece_uncached(std::string_view piece, std::vector<int32_t>& out) const;
  void apply_merges(std::vector<int32_t>& syms) const;
  const Merge* find_merge(int32_t a, int32_t b) const;

  BpeSpec spec_;
  uint64_t instance_id_;   // keys the per-thread word cache
  StringMap piece_to_id_;  // key: bytes for byte-level vocabularies, stored text otherwise
  std::vector<std::string> id_to_piece_;  // decoded bytes of each id
  std::vector<bool> is_added_;
  std::unordered_map<uint64_t, Merge> merges_;
  int32_t byte_ids_[256];  // byte-level: the token of each byte; chars: <0xNN>, -1 if absent
  int32_t unk_id_ = -1;
  bool split_words_ = false;  // encode "▁"-words separately (exact, see build_vocab)
  std::vector<RegexSplitter> splitters_;
  std::vector<std::vector<int32_t>> added_by_first_byte_;  // indices into spec_.added
  std::string fingerprint_;
};

}  // namespace still
