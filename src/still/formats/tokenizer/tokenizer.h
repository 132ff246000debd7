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

// A token matched in text before pre-tokenization (HF "added_tokens"). Special tokens are
// matched only in template text (Tokenizer::encode_special), the others everywhere.
struct AddedToken {
  std::string content;
  int32_t id = -1;
  bool special = false;
  bool lstrip = false;       // swallow whitespace before the match
  bool rstrip = false;       // swallow whitespace after the match
  bool single_word = false;  // only match when not inside a word
};

class Tokenizer {
 public:
  virtual ~Tokenizer() = default;
  // User text to ids, without BOS/EOS (callers add them by policy). Special tokens written
  // in the text are tokenized as plain text, never as their ids.
  virtual std::vector<int32_t> encode(std::string_view text) const = 0;
  // Template text (e.g. a rendered chat template): special tokens written in it become their
  // ids. Tokenizers without special tokens behave like encode().
  virtual std::vector<int32_t> encode_special(std::string_view text) const { return encode(text); }
  // A rendered chat prompt: like encode_special, but 0xFF bytes (which chat rendering puts
  // inside special-token spellings that came from user content) are dropped from the text
  // between special tokens, so those spellings stay plain text.
  virtual std::vector<int32_t> encode_chat(std::string_view rendered) const;
  // Ids to bytes. decode(encode(x)) == x for every byte string x (up to the tokenizer's
  // normalisation, e.g. NFC for Qwen). Unknown ids are skipped.
  virtual std::string decode(const std::vector<int32_t>& ids) const = 0;
  // The bytes one token stands for, before whole-text clean-ups (SentencePiece's removal of
  // the leading space the encoder added). Empty for unknown ids.
  virtual std::string token_to_piece(int32_t id) const { return decode({id}); }
  // True when decode() drops one leading space of the text (the encoder's dummy prefix).
  virtual bool strips_leading_space() const { return false; }
  // The vocabulary entry as stored in the file (e.g. "Ġthe", "▁the"); empty if unknown.
  virtual std::string token_text(int32_t /*id*/) const { return {}; }
  // Id of a vocabulary entry or added token given its stored text; -1 if none.
  virtual int32_t token_id(std::string_view /*text*/) const { return -1; }
  virtual const std::vector<AddedToken>& added_tokens() const {
    static const std::vector<AddedToken> none;
    return none;
  }
  virtual int vocab_size() const = 0;
  virtual int bos_id() const { return -1; }
  virtual int eos_id() const { return -1; }
  // Jinja chat template from tokenizer_config.json or GGUF metadata; empty if none.
  virtual std::string chat_template() const { return {}; }
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
  std::string token_to_piece(int32_t id) const override;
  int vocab_size() const override { return 256; }
  std::string kind() const override { return "bytes"; }
  std::string fingerprint() const override;
};

// Loads a tokenizer from a tokenizer.json, a SentencePiece .model, a GGUF file, a GPT-2
// encoder.json (with vocab.bpe beside it), a model directory holding one of those, or the
// word "bytes". Throws still::Error naming the file.
std::unique_ptr<Tokenizer> load_tokenizer(const std::string& path_or_name);

// True when `path` is a Hugging Face tokenizer.json by content (a JSON object with a
// "model" object), whatever the file is called.
bool is_tokenizer_json_file(const std::string& path);

// Feeds ids one at a time and returns text only once it forms whole UTF-8 characters, so a
// streamed reply never shows half a character. Bytes that can never become valid UTF-8 are
// passed through as they are (decode() would return them too).
class StreamDecoder {
 public:
  explicit StreamDecoder(const Tokenizer& tok) : tok_(tok) {}
  std::string push(int32_t id);  // text that became complete with this token
  std::string flush();           // whatever is still held back (end of stream)

 private:
  const Tokenizer& tok_;
  std::string pending_;
  bool first_ = true;
};

}  // namespace still
