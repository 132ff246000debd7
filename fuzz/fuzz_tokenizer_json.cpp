// libFuzzer target: the tokenizer.json reader and the tokenizer it builds. Any input must
// either load (and then encode/decode without crashing) or fail with still::Error.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "still/formats/tokenizer/bpe_tokenizer.h"
#include "still/formats/tokenizer/loaders.h"
#include "still/util/error.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  try {
    still::BpeTokenizer tok(still::bpe_spec_from_tokenizer_json(text, "fuzz.json"));
    // Exercise the loaded tokenizer on text that touches every path: words, digits, spaces,
    // added-token spellings, multi-byte and invalid UTF-8.
    static const char kProbe[] = "Hello world 123 4567  \n\t<s><|x|> caf\xC3\xA9 \xF0\x9F\x98\x81 \xFF";
    std::string_view probe(kProbe, sizeof kProbe - 1);
    auto ids = tok.encode(probe);
    (void)tok.decode(ids);
    (void)tok.decode(tok.encode_special(text.substr(0, 256)));
    for (int32_t id = 0; id < tok.vocab_size() && id < 64; ++id) (void)tok.token_to_piece(id);
  } catch (const still::Error&) {
  }
  return 0;
}
