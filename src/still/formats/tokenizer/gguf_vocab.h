// A small, strict reader of a GGUF file's metadata (the key/value header only), enough to
// load the tokenizer stored as tokenizer.ggml.*. Every count and length is checked against
// the file size before anything is allocated.
// TODO(formats): unify with the full GGUF reader in src/still/formats/gguf.* once it lands.
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <variant>
#include <vector>

namespace still {

struct GgufValue {
  // Scalars widen to int64/uint64/double; arrays of strings and numbers are kept typed.
  std::variant<int64_t, uint64_t, double, bool, std::string, std::vector<std::string>,
               std::vector<double>, std::vector<int64_t>>
      v;
};

struct GgufMetadata {
  uint32_t version = 0;
  std::map<std::string, GgufValue> kv;

  bool has(const std::string& key) const { return kv.count(key) != 0; }
  // Typed getters: throw still::Error naming the file and key when missing or mistyped.
  const std::string& str(const std::string& key) const;
  int64_t integer(const std::string& key) const;
  bool boolean(const std::string& key) const;
  const std::vector<std::string>& strings(const std::string& key) const;
  const std::vector<double>& floats(const std::string& key) const;
  const std::vector<int64_t>& ints(const std::string& key) const;
  std::string source;
};

GgufMetadata read_gguf_metadata(const std::string& path);
// Same, from bytes in memory (`source` names them in errors).
GgufMetadata parse_gguf_metadata(const uint8_t* data, size_t size, const std::string& source);

}  // namespace still
