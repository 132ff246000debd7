// GGUF (llama.cpp's model file), versions 2 and 3, little-endian: a header, typed metadata
// key/values, tensor infos, then the tensor data at an aligned offset. The reader maps the
// file and checks every count, length, offset and size against the bytes really there; a bad
// file gives one still::Error line that names the file and the problem.
#pragma once
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "still/io/mapped_file.h"

namespace still {

enum class GgufValueType : uint32_t {
  kU8 = 0,
  kI8 = 1,
  kU16 = 2,
  kI16 = 3,
  kU32 = 4,
  kI32 = 5,
  kF32 = 6,
  kBool = 7,
  kString = 8,
  kArray = 9,
  kU64 = 10,
  kI64 = 11,
  kF64 = 12,
};
std::string gguf_value_type_name(GgufValueType t);  // "u32", "string", "array", ...
// True when the file at `path` starts with the GGUF magic (false when it cannot be read).
bool is_gguf_file(const std::string& path);

// Bytes of one value of a fixed-size type; 0 for string and array (variable size).
size_t gguf_scalar_size(GgufValueType t);

// ggml tensor element types that can appear in a GGUF file (numbering is the file format's).
enum class GgmlType : uint32_t {
  kF32 = 0,
  kF16 = 1,
  kQ4_0 = 2,
  kQ4_1 = 3,
  kQ5_0 = 6,
  kQ5_1 = 7,
  kQ8_0 = 8,
  kQ8_1 = 9,
  kQ2_K = 10,
  kQ3_K = 11,
  kQ4_K = 12,
  kQ5_K = 13,
  kQ6_K = 14,
  kQ8_K = 15,
  kIQ2_XXS = 16,
  kIQ2_XS = 17,
  kIQ3_XXS = 18,
  kIQ1_S = 19,
  kIQ4_NL = 20,
  kIQ3_S = 21,
  kIQ2_S = 22,
  kIQ4_XS = 23,
  kI8 = 24,
  kI16 = 25,
  kI32 = 26,
  kI64 = 27,
  kF64 = 28,
  kIQ1_M = 29,
  kBF16 = 30,
  kTQ1_0 = 34,
  kTQ2_0 = 35,
  kMXFP4 = 39,
};
struct GgmlTypeTraits {
  const char* name;    // "F32", "Q8_0", ...
  int64_t block_size;  // elements per block
  int64_t block_bytes;
};
// Returns nullptr for a number that is not a known ggml type.
const GgmlTypeTraits* ggml_type_traits(uint32_t type);
std::string ggml_type_name(GgmlType t);
// Bytes of a row of `n` elements; n must be a multiple of the block size.
uint64_t ggml_row_bytes(GgmlType t, int64_t n);

// One metadata value. Scalars and arrays point into the file's bytes (valid while the
// GgufFile lives); accessors convert and throw still::Error naming `what` on a type mismatch.
struct GgufValue {
  GgufValueType type = GgufValueType::kU8;
  GgufValueType elem_type = GgufValueType::kU8;  // arrays only
  uint64_t count = 1;                            // array length (1 for scalars)
  const uint8_t* raw = nullptr;                  // the scalar, or the array's first element
  std::vector<std::string_view> strings;         // string scalar (1) or string array

  bool is_array() const { return type == GgufValueType::kArray; }
  // The scalar type, or the element type of an array.
  GgufValueType scalar_type() const { return is_array() ? elem_type : type; }

  // Scalars. Integers convert to int64 (a u64 above INT64_MAX is an error); to_float
  // accepts any integer or float type.
  int64_t to_int(const std::string& what) const;
  double to_float(const std::string& what) const;
  bool to_bool(const std::string& what) const;
  std::string to_string(const std::string& what) const;
  // Arrays (copies).
  std::vector<std::string> to_strings(const std::string& what) const;
  std::vector<int64_t> to_ints(const std::string& what) const;
  std::vector<float> to_floats(const std::string& what) const;
  // Element i of a numeric array (or the scalar when i == 0), as int64 / double.
  int64_t int_at(uint64_t i) const;
  double float_at(uint64_t i) const;

  // For `still inspect`: arrays longer than max_items are summarised.
  nlohmann::json to_json(size_t max_items) const;
  std::string summary(size_t max_items) const;  // one line
};

struct GgufTensorInfo {
  std::string name;
  std::vector<int64_t> dims;  // ggml order: dims[0] varies fastest (a row of a matrix)
  GgmlType type = GgmlType::kF32;
  uint64_t offset = 0;  // into the data section
  uint64_t nbytes = 0;
  int64_t numel() const;
};

class GgufFile {
 public:
  explicit GgufFile(const std::string& path);  // maps and parses; throws naming the file
  // Parses bytes owned by the caller (fuzzers, tests); `what` names them in errors.
  static GgufFile parse_only(const uint8_t* data, size_t size, const std::string& what);

  const std::string& path() const { return path_; }
  uint32_t version() const { return version_; }
  uint64_t alignment() const { return alignment_; }
  uint64_t data_offset() const { return data_offset_; }  // file offset of the data section

  // Metadata in file order.
  const std::vector<std::pair<std::string, GgufValue>>& metadata() const { return kv_; }
  const GgufValue* find(const std::string& key) const;  // nullptr when absent
  bool has(const std::string& key) const { return find(key) != nullptr; }
  const GgufValue& at(const std::string& key) const;  // throws naming file and key
  // Typed getters: throw when absent or of the wrong type (the error names file and key).
  std::string get_string(const std::string& key) const;
  int64_t get_int(const std::string& key) const;
  double get_float(const std::string& key) const;
  bool get_bool(const std::string& key) const;
  std::vector<std::string> get_strings(const std::string& key) const;
  std::vector<int64_t> get_ints(const std::string& key) const;
  std::vector<float> get_floats(const std::string& key) const;
  // With a default when the key is absent (still an error when present but mistyped).
  std::string get_string(const std::string& key, const std::string& dflt) const;
  int64_t get_int(const std::string& key, int64_t dflt) const;
  double get_float(const std::string& key, double dflt) const;
  bool get_bool(const std::string& key, bool dflt) const;

  // general.architecture, or "" when absent.
  std::string architecture() const;

  const std::vector<GgufTensorInfo>& tensors() const { return tensors_; }
  const GgufTensorInfo* find_tensor(const std::string& name) const;
  const GgufTensorInfo& tensor(const std::string& name) const;  // throws naming the tensor
  const uint8_t* tensor_data(const GgufTensorInfo& t) const { return data_ + t.offset; }

 private:
  GgufFile() = default;
  void parse(const uint8_t* p, size_t size);
  std::string path_;
  MappedFile map_;
  uint32_t version_ = 0;
  uint64_t alignment_ = 32;
  uint64_t data_offset_ = 0;
  const uint8_t* data_ = nullptr;
  std::vector<std::pair<std::string, GgufValue>> kv_;
  std::vector<GgufTensorInfo> tensors_;
};

}  // namespace still
