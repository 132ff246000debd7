#include "still/formats/tokenizer/gguf_vocab.h"

#include <cstring>

#include "still/io/mapped_file.h"
#include "still/util/error.h"

namespace still {
namespace {

enum GgufType : uint32_t {
  kU8 = 0,
  kI8,
  kU16,
  kI16,
  kU32,
  kI32,
  kF32,
  kBool,
  kString,
  kArray,
  kU64,
  kI64,
  kF64
};

class Cursor {
 public:
  Cursor(const uint8_t* p, size_t n, const std::string& src) : p_(p), n_(n), src_(src) {}
  [[noreturn]] void fail(const std::string& what) const {
    throw Error(src_ + ": bad GGUF header at byte " + std::to_string(off_) + ": " + what);
  }
  size_t left() const { return n_ - off_; }
  template <typename T>
  T read() {
    if (left() < sizeof(T)) fail("file ends inside a value");
    T v;
    std::memcpy(&v, p_ + off_, sizeof v);
    off_ += sizeof v;
    return v;
  }
  std::string string() {
    uint64_t len = read<uint64_t>();
    if (len > left())
      fail("string of " + std::to_string(len) + " bytes runs past the end of the file");
    std::string s(reinterpret_cast<const char*>(p_ + off_), size_t(len));
    off_ += size_t(len);
    return s;
  }

 private:
  const uint8_t* p_;
  size_t n_, off_ = 0;
  const std::string& src_;
};

size_t scalar_size(uint32_t t) {
  switch (t) {
    case kU8:
    case kI8:
    case kBool:
      return 1;
    case kU16:
    case kI16:
      return 2;
    case kU32:
    case kI32:
    case kF32:
      return 4;
    case kU64:
    case kI64:
    case kF64:
      return 8;
    default:
      return 0;
  }
}

// Reads one scalar as int64 / uint64 / double / bool.
GgufValue scalar(Cursor& c, uint32_t t) {
  switch (t) {
    case kU8:
      return {int64_t(c.read<uint8_t>())};
    case kI8:
      return {int64_t(c.read<int8_t>())};
    case kU16:
      return {int64_t(c.read<uint16_t>())};
    case kI16:
      return {int64_t(c.read<int16_t>())};
    case kU32:
      return {int64_t(c.read<uint32_t>())};
    case kI32:
      return {int64_t(c.read<int32_t>())};
    case kU64:
      return {c.read<uint64_t>()};
    case kI64:
      return {c.read<int64_t>()};
    case kF32:
      return {double(c.read<float>())};
    case kF64:
      return {c.read<double>()};
    case kBool: {
      uint8_t b = c.read<uint8_t>();
      if (b > 1) c.fail("bool value " + std::to_string(b) + " is neither 0 nor 1");
      return {b == 1};
    }
    default:
      c.fail("unknown value type " + std::to_string(t));
  }
}

GgufValue value(Cursor& c, uint32_t t) {
  if (t == kString) return {c.string()};
  if (t != kArray) return scalar(c, t);
  uint32_t et = c.read<uint32_t>();
  uint64_t n = c.read<uint64_t>();
  if (et == kString) {
    if (n > c.left() / 8)
      c.fail("array claims " + std::to_string(n) + " strings, more than the file holds");
    std::vector<std::string> out;
    out.reserve(size_t(n));
    for (uint64_t i = 0; i < n; ++i) out.push_back(c.string());
    return {std::move(out)};
  }
  size_t es = scalar_size(et);
  if (es == 0) c.fail("arrays of type " + std::to_string(et) + " are not supported here");
  if (n > c.left() / es)
    c.fail("array claims " + std::to_string(n) + " values, more than the file holds");
  if (et == kF32 || et == kF64) {
    std::vector<double> out(static_cast<size_t>(n));
    for (auto& x : out) x = std::get<double>(scalar(c, et).v);
    return {std::move(out)};
  }
  std::vector<int64_t> out(static_cast<size_t>(n));
  for (auto& x : out) {
    GgufValue v = scalar(c, et);
    if (auto* i = std::get_if<int64_t>(&v.v))
      x = *i;
    else if (auto* u = std::get_if<uint64_t>(&v.v))
      x = int64_t(*u);
    else
      x = std::get<bool>(v.v);
  }
  return {std::move(out)};
}

template <typename T>
const T& get(const GgufMetadata& m, const std::string& key, const char* want) {
  auto it = m.kv.find(key);
  if (it == m.kv.end()) throw Error(m.source + ": GGUF metadata lacks " + key);
  const T* p = std::get_if<T>(&it->second.v);
  if (!p) throw Error(m.source + ": GGUF metadata " + key + " is not " + want);
  return *p;
}

}  // namespace

const std::string& GgufMetadata::str(const std::string& key) const {
  return get<std::string>(*this, key, "a string");
}
int64_t GgufMetadata::integer(const std::string& key) const {
  auto it = kv.find(key);
  if (it != kv.end())
    if (auto* u = std::get_if<uint64_t>(&it->second.v)) return int64_t(*u);
  return get<int64_t>(*this, key, "an integer");
}
bool GgufMetadata::boolean(const std::string& key) const { return get<bool>(*this, key, "a bool"); }
const std::vector<std::string>& GgufMetadata::strings(const std::string& key) const {
  return get<std::vector<std::string>>(*this, key, "an array of strings");
}
const std::vector<double>& GgufMetadata::floats(const std::string& key) const {
  return get<std::vector<double>>(*this, key, "an array of floats");
}
const std::vector<int64_t>& GgufMetadata::ints(const std::string& key) const {
  return get<std::vector<int64_t>>(*this, key, "an array of integers");
}

GgufMetadata parse_gguf_metadata(const uint8_t* data, size_t size, const std::string& source) {
  Cursor c(data, size, source);
  GgufMetadata m;
  m.source = source;
  if (size < 4 || std::memcmp(data, "GGUF", 4) != 0)
    throw Error(source + ": not a GGUF file (no 'GGUF' magic)");
  c.read<uint32_t>();
  m.version = c.read<uint32_t>();
  if (m.version != 2 && m.version != 3)
    throw Error(source + ": GGUF version " + std::to_string(m.version) +
                " is not supported (2 or 3)");
  uint64_t n_tensors = c.read<uint64_t>();
  uint64_t n_kv = c.read<uint64_t>();
  if (n_tensors > size || n_kv > c.left() / 12)
    c.fail("claims " + std::to_string(n_kv) + " metadata entries and " + std::to_string(n_tensors) +
           " tensors, more than the file can hold");
  for (uint64_t i = 0; i < n_kv; ++i) {
    std::string key = c.string();
    uint32_t t = c.read<uint32_t>();
    GgufValue v = value(c, t);
    if (!m.kv.emplace(key, std::move(v)).second) c.fail("metadata key " + key + " appears twice");
  }
  return m;
}

GgufMetadata read_gguf_metadata(const std::string& path) {
  MappedFile f(path);
  return parse_gguf_metadata(f.data(), f.size(), path);
}

}  // namespace still
