#include "still/formats/tokenizer/tokenizer.h"
#include "still/util/sha256.h"

namespace still {

std::vector<int32_t> ByteTokenizer::encode(std::string_view text) const {
  std::vector<int32_t> ids(text.size());
  for (size_t i = 0; i < text.size(); ++i) ids[i] = int32_t(uint8_t(text[i]));
  return ids;
}

std::string ByteTokenizer::decode(const std::vector<int32_t>& ids) const {
  std::string s;
  s.reserve(ids.size());
  for (int32_t id : ids)
    if (id >= 0 && id < 256) s += char(uint8_t(id));
  return s;
}

std::string ByteTokenizer::token_to_piece(int32_t id) const {
  return id >= 0 && id < 256 ? std::string(1, char(uint8_t(id))) : std::string();
}

std::string ByteTokenizer::fingerprint() const { return sha256_hex("still-byte-tokenizer/1"); }

}  // namespace still
