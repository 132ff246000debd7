// SentencePiece .model files through Debian's libsentencepiece, which does the encoding
// exactly as the reference does (unigram or BPE, its own normaliser).
#include <sentencepiece_processor.h>

#include "still/formats/tokenizer/loaders.h"
#include "still/io/atomic_file.h"
#include "still/util/error.h"
#include "still/util/sha256.h"

namespace still {
namespace {

class SpmTokenizer : public Tokenizer {
 public:
  explicit SpmTokenizer(const std::string& path) {
    std::string bytes = read_file(path);
    auto st = sp_.LoadFromSerializedProto(bytes);
    if (!st.ok())
      throw Error(path + ": not a SentencePiece model (" + std::string(st.message()) + ")");
    require(sp_.GetPieceSize() > 0, path + ": SentencePiece model has no pieces");
    fingerprint_ = sha256_hex("still-spm/1\n" + bytes);
    for (int id = 0; id < sp_.GetPieceSize(); ++id) {
      if (sp_.IsControl(id) || sp_.IsUnknown(id)) {
        const std::string& p = sp_.IdToPiece(id);
        if (!p.empty()) added_.push_back(AddedToken{p, id, true, false, false, false});
      }
    }
    // Whether the normaliser adds a dummy "▁" prefix (then decode drops one leading space).
    std::vector<std::string> pieces;
    if (sp_.Encode("a", &pieces).ok() && !pieces.empty())
      strip_leading_space_ = pieces[0].rfind("\u2581", 0) == 0;
  }

  std::vector<int32_t> encode(std::string_view text) const override {
    std::vector<int> ids;
    if (!text.empty()) sp_.Encode(text, &ids).IgnoreError();
    return {ids.begin(), ids.end()};
  }

  std::vector<int32_t> encode_special(std::string_view text) const override {
    std::vector<int32_t> out;
    size_t seg = 0;
    for (size_t i = 0; i < text.size();) {
      const AddedToken* hit = nullptr;
      for (const auto& a : added_)
        if (text.compare(i, a.content.size(), a.content) == 0 &&
            (!hit || a.content.size() > hit->content.size()))
          hit = &a;
      if (!hit) {
        ++i;
        continue;
      }
      auto part = encode(text.substr(seg, i - seg));
      out.insert(out.end(), part.begin(), part.end());
      out.push_back(hit->id);
      seg = i = i + hit->content.size();
    }
    auto part = encode(text.substr(seg));
    out.insert(out.end(), part.begin(), part.end());
    return out;
  }

  std::string token_to_piece(int32_t id) const override {
    if (id < 0 || id >= sp_.GetPieceSize()) return {};
    const std::string& p = sp_.IdToPiece(id);
    if (sp_.IsByte(id) && p.size() == 6)
      return std::string(1, char(std::stoi(p.substr(3, 2), nullptr, 16)));
    if (sp_.IsControl(id) || sp_.IsUnknown(id)) return p;
    std::string out;
    for (size_t i = 0; i < p.size();) {
      if (p.compare(i, 3, "\u2581") == 0) {
        out += ' ';
        i += 3;
      } else {
        out += p[i++];
      }
    }
    return out;
  }

  std::string decode(const std::vector<int32_t>& ids) const override {
    std::string s;
    for (int32_t id : ids) s += token_to_piece(id);
    if (strip_leading_space_ && !s.empty() && s[0] == ' ') s.erase(0, 1);
    return s;
  }

  bool strips_leading_space() const override { return strip_leading_space_; }
  std::string token_text(int32_t id) const override {
    return id >= 0 && id < sp_.GetPieceSize() ? sp_.IdToPiece(id) : std::string();
  }
  int32_t token_id(std::string_view text) const override {
    int id = sp_.PieceToId(text);
    return id == sp_.unk_id() && text != sp_.IdToPiece(id) ? -1 : id;
  }
  const std::vector<AddedToken>& added_tokens() const override { return added_; }
  int vocab_size() const override { return sp_.GetPieceSize(); }
  int bos_id() const override { return sp_.bos_id(); }
  int eos_id() const override { return sp_.eos_id(); }
  std::string kind() const override { return "spm"; }
  std::string fingerprint() const override { return fingerprint_; }

 private:
  sentencepiece::SentencePieceProcessor sp_;
  std::vector<AddedToken> added_;
  std::string fingerprint_;
  bool strip_leading_space_ = false;
};

}  // namespace

std::unique_ptr<Tokenizer> load_sentencepiece_model(const std::string& path) {
  return std::make_unique<SpmTokenizer>(path);
}

}  // namespace still
