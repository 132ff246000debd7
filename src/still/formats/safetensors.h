// safetensors: 8-byte little-endian header length, a JSON header naming each tensor's
// dtype, shape and [begin, end) byte range, then the data. Reading maps the file and checks
// every claim in the header against the bytes that are really there.
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "still/io/mapped_file.h"
#include "still/tensor/dtype.h"

namespace still {

struct SafetensorsEntry {
  std::string name;
  DType dtype;
  std::vector<int64_t> shape;
  uint64_t begin = 0, end = 0;  // relative to the data section
  int64_t numel() const;
};

class SafetensorsFile {
 public:
  explicit SafetensorsFile(const std::string& path);  // throws still::Error naming the file
  // Parses from memory (used by the fuzzer and by tests); `what` names it in errors.
  static SafetensorsFile parse_only(const uint8_t* data, size_t size, const std::string& what);

  const std::vector<SafetensorsEntry>& tensors() const { return tensors_; }
  const std::map<std::string, std::string>& metadata() const { return metadata_; }
  const SafetensorsEntry* find(const std::string& name) const;
  const SafetensorsEntry& at(const std::string& name) const;  // throws naming the tensor
  const uint8_t* data(const SafetensorsEntry& e) const { return data_ + e.begin; }
  // Copies a tensor out as f32 (F32, F16, BF16 accepted); checks its element count.
  void read_f32(const std::string& name, float* out, int64_t expected_numel) const;
  const std::string& path() const { return path_; }

 private:
  SafetensorsFile() = default;
  void parse(const uint8_t* p, size_t size);
  std::string path_;
  MappedFile map_;
  const uint8_t* data_ = nullptr;
  std::vector<SafetensorsEntry> tensors_;
  std::map<std::string, std::string> metadata_;
};

struct SafetensorsWriteEntry {
  std::string name;
  DType dtype;
  std::vector<int64_t> shape;
  const void* data;  // dtype_size(dtype) * numel bytes
};

// Writes atomically (temp file, fsync, rename). Data is 8-byte aligned after the header.
void write_safetensors(const std::string& path, const std::vector<SafetensorsWriteEntry>& tensors,
                       const std::map<std::string, std::string>& metadata = {});

}  // namespace still
