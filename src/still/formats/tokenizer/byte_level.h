// GPT-2's byte-level alphabet: each of the 256 byte values is shown as one printable Unicode
// character ("Ġ" for a space), so byte-level BPE vocabularies are valid UTF-8 strings.
#pragma once
#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace still::byte_level {

// UTF-8 of the character that stands for byte b.
const std::string& byte_to_char(uint8_t b);
// Maps a vocabulary string back to bytes; nullopt if it holds a character outside the
// alphabet (then the token is not a byte-level token, e.g. an added token).
std::optional<std::string> chars_to_bytes(std::string_view token);
// Maps raw bytes to the alphabet (what byte-level BPE merges operate on).
std::string bytes_to_chars(std::string_view bytes);

}  // namespace still::byte_level
