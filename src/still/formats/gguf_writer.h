// Writes GGUF v3 files: metadata in the order it was set, tensor infos, then each tensor's
// bytes at an aligned offset. Files are written atomically.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "still/formats/gguf.h"

namespace still {

class GgufWriter {
 public:
  explicit GgufWriter(uint32_t alignment = 32);

  // Setting a key twice replaces its value (keeping its position).
  void set_u32(const std::string& key, uint32_t v);
  void set_i32(const std::string& key, int32_t v);
  void set_u64(const std::string& key, uint64_t v);
  void set_f32(const std::string& key, float v);
  void set_bool(const std::string& key, bool v);
  void set_string(const std::string& key, const std::string& v);
  void set_strings(const std::string& key, const std::vector<std::string>& v);
  void set_i32s(const std::string& key, const std::vector<int32_t>& v);
  void set_f32s(const std::string& key, const std::vector<float>& v);
  // Any value already encoded (type + payload), e.g. copied from another file.
  void set_raw(const std::string& key, GgufValueType type, std::string payload);
  // Copies a value read from another GGUF file.
  void copy_value(const std::string& key, const GgufValue& v);

  // `dims` in ggml order (dims[0] = row length); `bytes` must match the type and dims.
  void add_tensor(const std::string& name, std::vector<int64_t> dims, GgmlType type,
                  std::vector<uint8_t> bytes);

  // The whole file in memory (tests, fuzz corpora) or written atomically to `path`.
  std::string to_bytes() const;
  void write(const std::string& path) const;

 private:
  struct Tensor {
    std::string name;
    std::vector<int64_t> dims;
    GgmlType type;
    std::vector<uint8_t> bytes;
  };
  std::string header() const;  // everything before the data section, padded
  uint32_t alignment_;
  std::vector<std::pair<std::string, std::string>> kv_;  // key, encoded type + payload
  std::vector<Tensor> tensors_;
};

}  // namespace still
