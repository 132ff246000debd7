// Unicode NFC (what Qwen's tokenizer.json normaliser asks for), via ICU. Invalid UTF-8 bytes
// are kept as they are; only the valid stretches between them are normalised.
#pragma once
#include <string>
#include <string_view>

namespace still {

std::string nfc_normalize(std::string_view text);

}  // namespace still
