#include "still/formats/tokenizer/tokenizer.h"
#include "still/util/error.h"

namespace still {

std::unique_ptr<Tokenizer> load_tokenizer(const std::string& path_or_name) {
  if (path_or_name == "bytes") return std::make_unique<ByteTokenizer>();
  throw Error("cannot load tokenizer " + path_or_name +
              ": only the built-in byte tokenizer ('bytes') is supported in this build");
}

}  // namespace still
