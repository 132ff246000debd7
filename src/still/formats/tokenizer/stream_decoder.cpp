#include "still/formats/tokenizer/tokenizer.h"
#include "still/formats/tokenizer/utf8.h"

namespace still {

std::vector<int32_t> Tokenizer::encode_chat(std::string_view rendered) const {
  // Generic version: split at special tokens (longest match), encode the text between.
  std::vector<int32_t> out;
  std::string text;
  auto flush_text = [&] {
    std::erase(text, '\xFF');
    auto ids = encode(text);
    out.insert(out.end(), ids.begin(), ids.end());
    text.clear();
  };
  for (size_t i = 0; i < rendered.size();) {
    const AddedToken* hit = nullptr;
    for (const auto& a : added_tokens())
      if (a.special && rendered.compare(i, a.content.size(), a.content) == 0 &&
          (!hit || a.content.size() > hit->content.size()))
        hit = &a;
    if (!hit) {
      text += rendered[i++];
      continue;
    }
    flush_text();
    out.push_back(hit->id);
    i += hit->content.size();
  }
  flush_text();
  return out;
}

std::string StreamDecoder::push(int32_t id) {
  std::string piece = tok_.token_to_piece(id);
  if (first_ && !piece.empty()) {
    first_ = false;
    if (tok_.strips_leading_space() && piece[0] == ' ') piece.erase(0, 1);
  }
  pending_ += piece;
  size_t hold = utf8::incomplete_tail(pending_);
  std::string out = pending_.substr(0, pending_.size() - hold);
  pending_.erase(0, pending_.size() - hold);
  return out;
}

std::string StreamDecoder::flush() {
  std::string out;
  out.swap(pending_);
  return out;
}

}  // namespace still
