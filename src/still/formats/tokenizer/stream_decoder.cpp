#include "still/formats/tokenizer/tokenizer.h"
#include "still/formats/tokenizer/utf8.h"

namespace still {

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
