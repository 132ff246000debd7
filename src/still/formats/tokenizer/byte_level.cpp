#include "still/formats/tokenizer/byte_level.h"

#include <vector>

#include "still/formats/tokenizer/utf8.h"

namespace still::byte_level {
namespace {

struct Tables {
  std::array<std::string, 256> to_char;
  std::vector<int16_t> from_cp;  // code point -> byte, -1 if not in the alphabet
  Tables() : from_cp(324, -1) {
    // Printable Latin-1 bytes stand for themselves; the others are moved to 256 + n.
    int next = 0;
    for (int b = 0; b < 256; ++b) {
      bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE);
      uint32_t cp = printable ? uint32_t(b) : uint32_t(256 + next++);
      utf8::append_codepoint(to_char[b], cp);
      from_cp[cp] = int16_t(b);
    }
  }
};

const Tables& tables() {
  static const Tables t;
  return t;
}

}  // namespace

const std::string& byte_to_char(uint8_t b) { return tables().to_char[b]; }

std::optional<std::string> chars_to_bytes(std::string_view token) {
  const Tables& t = tables();
  std::string out;
  out.reserve(token.size());
  for (size_t i = 0; i < token.size();) {
    size_t n = utf8::valid_len(token, i);
    if (!n) return std::nullopt;
    uint32_t cp = utf8::decode_at(token, i, n);
    if (cp >= t.from_cp.size() || t.from_cp[cp] < 0) return std::nullopt;
    out += char(uint8_t(t.from_cp[cp]));
    i += n;
  }
  return out;
}

std::string bytes_to_chars(std::string_view bytes) {
  const Tables& t = tables();
  std::string out;
  out.reserve(bytes.size() * 2);
  for (char c : bytes) out += t.to_char[uint8_t(c)];
  return out;
}

}  // namespace still::byte_level
