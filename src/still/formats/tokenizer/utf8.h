// Small UTF-8 helpers shared by the tokenizers. Invalid input is never an error here: an
// invalid byte counts as a one-byte "character", so every byte string splits losslessly.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace still::utf8 {

// Length of the valid UTF-8 sequence starting at s[i], or 0 if none starts there.
inline size_t valid_len(std::string_view s, size_t i) {
  const auto* p = reinterpret_cast<const uint8_t*>(s.data()) + i;
  size_t left = s.size() - i;
  uint8_t c = p[0];
  if (c < 0x80) return 1;
  size_t n;
  uint32_t min;
  if ((c & 0xE0) == 0xC0)
    n = 2, min = 0x80;
  else if ((c & 0xF0) == 0xE0)
    n = 3, min = 0x800;
  else if ((c & 0xF8) == 0xF0)
    n = 4, min = 0x10000;
  else
    return 0;
  if (left < n) return 0;
  uint32_t cp = c & (0x7F >> n);
  for (size_t k = 1; k < n; ++k) {
    if ((p[k] & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (p[k] & 0x3F);
  }
  if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
  return n;
}

// Length of the character at s[i]: its UTF-8 length, or 1 for an invalid byte.
inline size_t char_len(std::string_view s, size_t i) {
  size_t n = valid_len(s, i);
  return n ? n : 1;
}

inline bool is_valid(std::string_view s) {
  for (size_t i = 0; i < s.size();) {
    size_t n = valid_len(s, i);
    if (!n) return false;
    i += n;
  }
  return true;
}

// Bytes at the end of s that start a UTF-8 character which more bytes could still complete.
// 0 when s ends on a character boundary or with bytes that can never become valid.
inline size_t incomplete_tail(std::string_view s) {
  size_t n = s.size();
  for (size_t back = 1; back <= 3 && back <= n; ++back) {
    uint8_t c = uint8_t(s[n - back]);
    if ((c & 0xC0) == 0x80) continue;  // continuation byte: keep looking for the lead
    size_t need = (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : (c & 0xF8) == 0xF0 ? 4 : 1;
    if (need <= back) return 0;
    // The prefix must itself be a valid start (e.g. not an overlong E0 80).
    std::string probe(s.substr(n - back));
    static const char kFill[] = "\xBF\xBF\xBF";
    probe.append(kFill, need - back);
    for (int lo = 0x80; lo <= 0xBF; lo += 0x3F) {
      for (size_t k = back; k < need; ++k) probe[k] = char(lo);
      if (valid_len(probe, 0) == need) return back;
    }
    return 0;
  }
  return 0;
}

inline void append_codepoint(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out += char(cp);
  } else if (cp < 0x800) {
    out += char(0xC0 | (cp >> 6));
    out += char(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += char(0xE0 | (cp >> 12));
    out += char(0x80 | ((cp >> 6) & 0x3F));
    out += char(0x80 | (cp & 0x3F));
  } else {
    out += char(0xF0 | (cp >> 18));
    out += char(0x80 | ((cp >> 12) & 0x3F));
    out += char(0x80 | ((cp >> 6) & 0x3F));
    out += char(0x80 | (cp & 0x3F));
  }
}

// Decodes the valid character at s[i] (caller checked valid_len > 0).
inline uint32_t decode_at(std::string_view s, size_t i, size_t n) {
  const auto* p = reinterpret_cast<const uint8_t*>(s.data()) + i;
  if (n == 1) return p[0];
  uint32_t cp = p[0] & (0x7F >> n);
  for (size_t k = 1; k < n; ++k) cp = (cp << 6) | (p[k] & 0x3F);
  return cp;
}

}  // namespace still::utf8
