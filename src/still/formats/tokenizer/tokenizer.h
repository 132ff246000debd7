// The tokenizer interface every command uses. Implementations: raw bytes (vocab 256, the
// default until a model brings its own), Hugging Face tokenizer.json byte-level BPE,
// SentencePiece, and the tokenizer stored in a GGUF file.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace still {

class Tokenizer {
 public:
  virtual ~Tokenizer() = default;
  // Text to ids, without BOS/EOS (callers add them by policy).
  virtual std::vector<int32_t> encode(std::string_view text) const = 0;
  // Ids to bytes. decode(encode(x)) == x for every byte string x.
  virtual std::string decode(const std::vector<int32_t>& ids) const = 0;
  virtual int vocab_size() const = 0;
  virtual int bos_id() const { return -1; }
  virtual int eos_id() const { return -1; }
  // "bytes", "bpe", "spm", ...
  virtual std::string kind() const = 0;
  // SHA-256 identifying the tokenizer exactly (vocab, merges, normalisation): the teacher
  // signal and the student must agree on it.
  virtual std::string fingerprint() const = 0;
};

// Each byte is a token (ids 0..255). No special tokens.
class ByteTokenizer : public Tokenizer {
 public:
  std::vector<int32_t> encode(std::string_view text) const override;
  std::string decode(const std::vector<int32_t>& ids) const override;
  int vocab_size() const override { return 256; }
  std::string kind() const override { return "bytes"; }
  std::string fingerprint() const override;
};

// Loads a tokenizer from a tokenizer.json, a SentencePiece .model, a GGUF file, a model
// directory holding one of those, or the word "bytes". Throws still::Error naming the file.
std::unique_ptr<Tokenizer> load_tokenizer(const std::string& path_or_name);

}  // namespace still
