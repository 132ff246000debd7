#include "still/formats/gguf.h"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <limits>
#include <unordered_set>

#include "still/tensor/dtype.h"
#include "still/util/error.h"

namespace still {
namespace {

constexpr uint32_t kMaxDims = 4;               // GGML_MAX_DIMS
constexpr int64_t kMaxDim = int64_t(1) << 40;  // no real tensor has a larger extent
constexpr uint64_t kMaxAlignment = 1 << 20;

struct TypeRow {
  uint32_t id;
  GgmlTypeTraits traits;
};
constexpr TypeRow kTypes[] = {
    {0, {"F32", 1, 4}},         {1, {"F16", 1, 2}},         {2, {"Q4_0", 32, 18}},
    {3, {"Q4_1", 32, 20}},      {6, {"Q5_0", 32, 22}},      {7, {"Q5_1", 32, 24}},
    {8, {"Q8_0", 32, 34}},      {9, {"Q8_1", 32, 36}},      {10, {"Q2_K", 256, 84}},
    {11, {"Q3_K", 256, 110}},   {12, {"Q4_K", 256, 144}},   {13, {"Q5_K", 256, 176}},
    {14, {"Q6_K", 256, 210}},   {15, {"Q8_K", 256, 292}},   {16, {"IQ2_XXS", 256, 66}},
    {17, {"IQ2_XS", 256, 74}},  {18, {"IQ3_XXS", 256, 98}}, {19, {"IQ1_S", 256, 50}},
    {20, {"IQ4_NL", 32, 18}},   {21, {"IQ3_S", 256, 110}},  {22, {"IQ2_S", 256, 82}},
    {23, {"IQ4_XS", 256, 136}}, {24, {"I8", 1, 1}},         {25, {"I16", 1, 2}},
    {26, {"I32", 1, 4}},        {27, {"I64", 1, 8}},        {28, {"F64", 1, 8}},
    {29, {"IQ1_M", 256, 56}},   {30, {"BF16", 1, 2}},       {34, {"TQ1_0", 256, 54}},
    {35, {"TQ2_0", 256, 66}},   {39, {"MXFP4", 32, 17}},
};

}  // namespace

size_t gguf_scalar_size(GgufValueType t) {
  switch (t) {
    case GgufValueType::kU8:
    case GgufValueType::kI8:
    case GgufValueType::kBool:
      return 1;
    case GgufValueType::kU16:
    case GgufValueType::kI16:
      return 2;
    case GgufValueType::kU32:
    case GgufValueType::kI32:
    case GgufValueType::kF32:
      return 4;
    case GgufValueType::kU64:
    case GgufValueType::kI64:
    case GgufValueType::kF64:
      return 8;
    default:
      return 0;  // string, array: variable
  }
}

namespace {

bool is_integer(GgufValueType t) {
  switch (t) {
    case GgufValueType::kU8:
    case GgufValueType::kI8:
    case GgufValueType::kU16:
    case GgufValueType::kI16:
    case GgufValueType::kU32:
    case GgufValueType::kI32:
    case GgufValueType::kU64:
    case GgufValueType::kI64:
      return true;
    default:
      return false;
  }
}

template <typename T>
T load(const uint8_t* p) {
  T v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

// Reads scalar i of type t at p as int64 / double; `ok` is false for a u64 > INT64_MAX.
int64_t load_int(GgufValueType t, const uint8_t* p, bool* ok) {
  *ok = true;
  switch (t) {
    case GgufValueType::kU8:
      return load<uint8_t>(p);
    case GgufValueType::kI8:
      return load<int8_t>(p);
    case GgufValueType::kU16:
      return load<uint16_t>(p);
    case GgufValueType::kI16:
      return load<int16_t>(p);
    case GgufValueType::kU32:
      return load<uint32_t>(p);
    case GgufValueType::kI32:
      return load<int32_t>(p);
    case GgufValueType::kI64:
      return load<int64_t>(p);
    case GgufValueType::kU64: {
      uint64_t v = load<uint64_t>(p);
      *ok = v <= uint64_t(std::numeric_limits<int64_t>::max());
      return int64_t(v);
    }
    case GgufValueType::kBool:
      return load<uint8_t>(p) != 0;
    default:
      *ok = false;
      return 0;
  }
}

double load_float(GgufValueType t, const uint8_t* p, bool* ok) {
  if (t == GgufValueType::kF32) {
    *ok = true;
    return load<float>(p);
  }
  if (t == GgufValueType::kF64) {
    *ok = true;
    return load<double>(p);
  }
  if (t == GgufValueType::kU64) {
    *ok = true;
    return double(load<uint64_t>(p));
  }
  if (is_integer(t)) return double(load_int(t, p, ok));
  *ok = false;
  return 0;
}

// A bounds-checked cursor over the file's bytes. Every read checks the remaining length
// first, so no claim in the file can make us read past its end.
class Cursor {
 public:
  Cursor(const uint8_t* p, size_t size, const std::string& path)
      : p_(p), size_(size), path_(path) {}
  [[noreturn]] void fail(const std::string& msg) const {
    throw Error(path_ + ": " + msg + " at byte " + std::to_string(pos_) +
                " (not a valid GGUF file; re-export or re-download it)");
  }
  size_t pos() const { return pos_; }
  size_t left() const { return size_ - pos_; }
  const uint8_t* here() const { return p_ + pos_; }
  void need(uint64_t n, const char* what) const {
    if (n > left())
      fail(std::string(what) + " needs " + std::to_string(n) + " bytes but the file has only " +
           std::to_string(left()) + " left (truncated?)");
  }
  const uint8_t* take(uint64_t n, const char* what) {
    need(n, what);
    const uint8_t* r = p_ + pos_;
    pos_ += n;
    return r;
  }
  template <typename T>
  T read(const char* what) {
    return load<T>(take(sizeof(T), what));
  }
  std::string_view str(const char* what) {
    uint64_t n = read<uint64_t>(what);
    const uint8_t* s = take(n, what);
    return std::string_view(reinterpret_cast<const char*>(s), n);
  }

 private:
  const uint8_t* p_;
  size_t size_, pos_ = 0;
  const std::string& path_;
};

std::string clip(std::string_view s, size_t n = 60) {
  std::string r(s.substr(0, n));
  for (char& c : r)
    if (uint8_t(c) < 0x20) c = '?';
  return s.size() > n ? r + "..." : r;
}

}  // namespace

std::string gguf_value_type_name(GgufValueType t) {
  static const char* names[] = {"u8",   "i8",     "u16",   "i16", "u32", "i32", "f32",
                                "bool", "string", "array", "u64", "i64", "f64"};
  uint32_t i = uint32_t(t);
  return i < 13 ? names[i] : "type" + std::to_string(i);
}

const GgmlTypeTraits* ggml_type_traits(uint32_t type) {
  for (auto& r : kTypes)
    if (r.id == type) return &r.traits;
  return nullptr;
}

std::string ggml_type_name(GgmlType t) {
  auto* tr = ggml_type_traits(uint32_t(t));
  return tr ? tr->name : "ggml_type" + std::to_string(uint32_t(t));
}

uint64_t ggml_row_bytes(GgmlType t, int64_t n) {
  auto* tr = ggml_type_traits(uint32_t(t));
  if (!tr) return 0;
  return uint64_t(n / tr->block_size) * uint64_t(tr->block_bytes);
}

// ---- GgufValue ----

int64_t GgufValue::to_int(const std::string& what) const {
  bool ok = false;
  int64_t v = is_array() ? 0 : load_int(type, raw, &ok);
  if (!ok || type == GgufValueType::kBool)
    throw Error(what + " is " + gguf_value_type_name(type) + ", expected an integer");
  return v;
}

double GgufValue::to_float(const std::string& what) const {
  bool ok = false;
  double v = is_array() ? 0 : load_float(type, raw, &ok);
  if (!ok) throw Error(what + " is " + gguf_value_type_name(type) + ", expected a number");
  return v;
}

bool GgufValue::to_bool(const std::string& what) const {
  if (type != GgufValueType::kBool)
    throw Error(what + " is " + gguf_value_type_name(type) + ", expected a bool");
  return raw[0] != 0;
}

std::string GgufValue::to_string(const std::string& what) const {
  if (type != GgufValueType::kString)
    throw Error(what + " is " + gguf_value_type_name(type) + ", expected a string");
  return std::string(strings[0]);
}

std::vector<std::string> GgufValue::to_strings(const std::string& what) const {
  if (!is_array() || elem_type != GgufValueType::kString)
    throw Error(what + " is not an array of strings");
  return std::vector<std::string>(strings.begin(), strings.end());
}

std::vector<int64_t> GgufValue::to_ints(const std::string& what) const {
  if (!is_array() || !is_integer(elem_type)) throw Error(what + " is not an array of integers");
  std::vector<int64_t> r(count);
  size_t es = gguf_scalar_size(elem_type);
  for (uint64_t i = 0; i < count; ++i) {
    bool ok;
    r[i] = load_int(elem_type, raw + i * es, &ok);
    if (!ok) throw Error(what + "[" + std::to_string(i) + "] does not fit in int64");
  }
  return r;
}

std::vector<float> GgufValue::to_floats(const std::string& what) const {
  if (!is_array() || (elem_type != GgufValueType::kF32 && elem_type != GgufValueType::kF64 &&
                      !is_integer(elem_type)))
    throw Error(what + " is not an array of numbers");
  std::vector<float> r(count);
  for (uint64_t i = 0; i < count; ++i) r[i] = float(float_at(i));
  return r;
}

int64_t GgufValue::int_at(uint64_t i) const {
  bool ok;
  return load_int(scalar_type(), raw + i * gguf_scalar_size(scalar_type()), &ok);
}

double GgufValue::float_at(uint64_t i) const {
  bool ok;
  return load_float(scalar_type(), raw + i * gguf_scalar_size(scalar_type()), &ok);
}

namespace {
nlohmann::json scalar_json(GgufValueType t, const uint8_t* p, std::string_view s) {
  bool ok;
  if (t == GgufValueType::kString) return std::string(s);
  if (t == GgufValueType::kBool) return p[0] != 0;
  if (t == GgufValueType::kF32 || t == GgufValueType::kF64) return load_float(t, p, &ok);
  if (t == GgufValueType::kU64) return load<uint64_t>(p);
  return load_int(t, p, &ok);
}
}  // namespace

nlohmann::json GgufValue::to_json(size_t max_items) const {
  if (!is_array()) return scalar_json(type, raw, type == GgufValueType::kString ? strings[0] : "");
  nlohmann::json a = nlohmann::json::array();
  size_t es = gguf_scalar_size(elem_type);
  for (uint64_t i = 0; i < count && i < max_items; ++i)
    a.push_back(scalar_json(elem_type, raw ? raw + i * es : nullptr,
                            elem_type == GgufValueType::kString ? strings[i] : ""));
  if (count <= max_items) return a;
  return {
      {"type", "array[" + gguf_value_type_name(elem_type) + "]"}, {"count", count}, {"first", a}};
}

std::string GgufValue::summary(size_t max_items) const {
  if (!is_array()) {
    if (type == GgufValueType::kString) return "\"" + clip(strings[0], 200) + "\"";
    return to_json(1).dump();
  }
  std::string r = "[" + gguf_value_type_name(elem_type) + " x " + std::to_string(count) + "]";
  if (count == 0) return r;
  r += " ";
  for (uint64_t i = 0; i < count && i < max_items; ++i) {
    if (i) r += ", ";
    if (elem_type == GgufValueType::kString)
      r += "\"" + clip(strings[i], 40) + "\"";
    else
      r += scalar_json(elem_type, raw + i * gguf_scalar_size(elem_type), "").dump();
  }
  if (count > max_items) r += ", ...";
  return r;
}

int64_t GgufTensorInfo::numel() const {
  int64_t n = 1;
  for (auto d : dims) n *= d;
  return n;
}

// ---- GgufFile ----

GgufFile::GgufFile(const std::string& path) : path_(path), map_(path) {
  parse(map_.data(), map_.size());
}

GgufFile GgufFile::parse_only(const uint8_t* data, size_t size, const std::string& what) {
  GgufFile f;
  f.path_ = what;
  f.parse(data, size);
  return f;
}

void GgufFile::parse(const uint8_t* p, size_t size) {
  Cursor c(p, size, path_);
  if (size < 4 || std::memcmp(p, "GGUF", 4) != 0) {
    if (size >= 4 && std::memcmp(p, "GGML", 4) == 0)
      c.fail("this is a pre-GGUF GGML file; convert it to GGUF with llama.cpp");
    c.fail("does not start with the GGUF magic");
  }
  c.take(4, "magic");
  version_ = c.read<uint32_t>("version");
  if (version_ == 1) c.fail("GGUF version 1 is not supported (only 2 and 3)");
  if (version_ > 0xffff) c.fail("big-endian GGUF files are not supported");
  if (version_ != 2 && version_ != 3)
    c.fail("unsupported GGUF version " + std::to_string(version_) + " (only 2 and 3)");
  uint64_t n_tensors = c.read<uint64_t>("tensor count");
  uint64_t n_kv = c.read<uint64_t>("metadata count");
  // The smallest key/value takes 13 bytes, the smallest tensor info 24: counts that could not
  // fit in the file are lies, and must not make us reserve memory for them.
  if (n_kv > c.left() / 13)
    c.fail("claims " + std::to_string(n_kv) +
           " metadata entries, more than the file can hold (truncated?)");
  if (n_tensors > c.left() / 24)
    c.fail("claims " + std::to_string(n_tensors) +
           " tensors, more than the file can hold (truncated?)");

  std::unordered_set<std::string_view> keys;
  kv_.reserve(n_kv);
  for (uint64_t i = 0; i < n_kv; ++i) {
    std::string_view key = c.str("metadata key");
    if (key.empty()) c.fail("metadata entry " + std::to_string(i) + " has an empty key");
    if (!keys.insert(key).second) c.fail("duplicate metadata key '" + clip(key) + "'");
    GgufValue v;
    uint32_t t = c.read<uint32_t>("metadata type");
    if (t > 12) c.fail("metadata '" + clip(key) + "' has unknown value type " + std::to_string(t));
    v.type = GgufValueType(t);
    if (v.type == GgufValueType::kString) {
      v.strings.push_back(c.str("string value"));
    } else if (v.type == GgufValueType::kArray) {
      uint32_t et = c.read<uint32_t>("array type");
      if (et > 12)
        c.fail("metadata '" + clip(key) + "' is an array of unknown type " + std::to_string(et));
      v.elem_type = GgufValueType(et);
      if (v.elem_type == GgufValueType::kArray)
        c.fail("metadata '" + clip(key) + "' is an array of arrays, which is not supported");
      v.count = c.read<uint64_t>("array length");
      if (v.elem_type == GgufValueType::kString) {
        if (v.count > c.left() / 8)
          c.fail("metadata '" + clip(key) + "' claims " + std::to_string(v.count) +
                 " strings, more than the file can hold (truncated?)");
        v.strings.reserve(v.count);
        for (uint64_t k = 0; k < v.count; ++k) v.strings.push_back(c.str("array string"));
      } else {
        size_t es = gguf_scalar_size(v.elem_type);
        if (v.count > c.left() / es)
          c.fail("metadata '" + clip(key) + "' claims " + std::to_string(v.count) +
                 " elements, more than the file can hold (truncated?)");
        v.raw = c.take(v.count * es, "array data");
      }
    } else {
      v.raw = c.take(gguf_scalar_size(v.type), "metadata value");
    }
    kv_.emplace_back(std::string(key), std::move(v));
  }

  if (const GgufValue* a = find("general.alignment")) {
    bool ok = false;
    int64_t al = a->is_array() ? 0 : load_int(a->type, a->raw, &ok);
    if (!ok || !is_integer(a->type) || al <= 0 || uint64_t(al) > kMaxAlignment || (al & (al - 1)))
      c.fail("general.alignment must be a power of two up to 1 MiB");
    alignment_ = uint64_t(al);
  }

  std::unordered_set<std::string_view> names;
  tensors_.reserve(n_tensors);
  for (uint64_t i = 0; i < n_tensors; ++i) {
    GgufTensorInfo t;
    std::string_view name = c.str("tensor name");
    if (name.empty()) c.fail("tensor " + std::to_string(i) + " has an empty name");
    if (!names.insert(name).second) c.fail("duplicate tensor name '" + clip(name) + "'");
    t.name = std::string(name);
    uint32_t nd = c.read<uint32_t>("tensor dimension count");
    if (nd == 0 || nd > kMaxDims)
      c.fail("tensor '" + t.name + "' has " + std::to_string(nd) + " dimensions (1 to 4 allowed)");
    unsigned __int128 numel = 1;
    for (uint32_t d = 0; d < nd; ++d) {
      uint64_t x = c.read<uint64_t>("tensor dimension");
      if (x == 0 || x > uint64_t(kMaxDim))
        c.fail("tensor '" + t.name + "' has an absurd dimension " + std::to_string(x));
      t.dims.push_back(int64_t(x));
      numel *= x;
    }
    if (numel > (unsigned __int128)(std::numeric_limits<int64_t>::max()))
      c.fail("tensor '" + t.name + "' has more elements than int64 can count");
    uint32_t type = c.read<uint32_t>("tensor type");
    const GgmlTypeTraits* tr = ggml_type_traits(type);
    if (!tr) c.fail("tensor '" + t.name + "' has unknown ggml type " + std::to_string(type));
    t.type = GgmlType(type);
    if (t.dims[0] % tr->block_size != 0)
      c.fail("tensor '" + t.name + "' has rows of " + std::to_string(t.dims[0]) +
             " elements, not a multiple of " + tr->name + "'s block of " +
             std::to_string(tr->block_size));
    unsigned __int128 bytes = numel / tr->block_size * tr->block_bytes;
    if (bytes > (unsigned __int128)size)
      c.fail("tensor '" + t.name + "' needs more bytes than the whole file holds");
    t.nbytes = uint64_t(bytes);
    t.offset = c.read<uint64_t>("tensor offset");
    if (t.offset % alignment_ != 0)
      c.fail("tensor '" + t.name + "' offset " + std::to_string(t.offset) +
             " is not a multiple of the alignment " + std::to_string(alignment_));
    tensors_.push_back(std::move(t));
  }

  data_offset_ = (c.pos() + alignment_ - 1) / alignment_ * alignment_;
  uint64_t data_size = data_offset_ <= size ? size - data_offset_ : 0;
  data_ = p + std::min<uint64_t>(data_offset_, size);
  for (auto& t : tensors_) {
    if (t.offset > data_size || t.nbytes > data_size - t.offset)
      throw Error(path_ + ": tensor '" + t.name + "' claims bytes " + std::to_string(t.offset) +
                  ".." + std::to_string(t.offset + t.nbytes) +
                  " of the data section, which holds " + std::to_string(data_size) +
                  " (truncated?; not a valid GGUF file)");
  }
  // Tensors may not share bytes (alignment padding between them is fine).
  std::vector<const GgufTensorInfo*> order;
  for (auto& t : tensors_) order.push_back(&t);
  std::sort(order.begin(), order.end(), [](auto* a, auto* b) { return a->offset < b->offset; });
  for (size_t i = 1; i < order.size(); ++i)
    if (order[i]->offset < order[i - 1]->offset + order[i - 1]->nbytes)
      throw Error(path_ + ": tensor '" + order[i]->name + "' overlaps tensor '" +
                  order[i - 1]->name + "' (not a valid GGUF file)");
}

const GgufValue* GgufFile::find(const std::string& key) const {
  for (auto& [k, v] : kv_)
    if (k == key) return &v;
  return nullptr;
}

const GgufValue& GgufFile::at(const std::string& key) const {
  const GgufValue* v = find(key);
  if (!v) throw Error(path_ + ": metadata key '" + key + "' is missing");
  return *v;
}

std::string GgufFile::get_string(const std::string& key) const {
  return at(key).to_string(path_ + ": metadata '" + key + "'");
}
int64_t GgufFile::get_int(const std::string& key) const {
  return at(key).to_int(path_ + ": metadata '" + key + "'");
}
double GgufFile::get_float(const std::string& key) const {
  return at(key).to_float(path_ + ": metadata '" + key + "'");
}
bool GgufFile::get_bool(const std::string& key) const {
  return at(key).to_bool(path_ + ": metadata '" + key + "'");
}
std::vector<std::string> GgufFile::get_strings(const std::string& key) const {
  return at(key).to_strings(path_ + ": metadata '" + key + "'");
}
std::vector<int64_t> GgufFile::get_ints(const std::string& key) const {
  return at(key).to_ints(path_ + ": metadata '" + key + "'");
}
std::vector<float> GgufFile::get_floats(const std::string& key) const {
  return at(key).to_floats(path_ + ": metadata '" + key + "'");
}
std::string GgufFile::get_string(const std::string& key, const std::string& dflt) const {
  return has(key) ? get_string(key) : dflt;
}
int64_t GgufFile::get_int(const std::string& key, int64_t dflt) const {
  return has(key) ? get_int(key) : dflt;
}
double GgufFile::get_float(const std::string& key, double dflt) const {
  return has(key) ? get_float(key) : dflt;
}
bool GgufFile::get_bool(const std::string& key, bool dflt) const {
  return has(key) ? get_bool(key) : dflt;
}

std::string GgufFile::architecture() const { return get_string("general.architecture", ""); }

const GgufTensorInfo* GgufFile::find_tensor(const std::string& name) const {
  for (auto& t : tensors_)
    if (t.name == name) return &t;
  return nullptr;
}

const GgufTensorInfo& GgufFile::tensor(const std::string& name) const {
  const GgufTensorInfo* t = find_tensor(name);
  if (!t) throw Error(path_ + ": tensor '" + name + "' is missing");
  return *t;
}

bool is_gguf_file(const std::string& path) {
  FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) return false;
  char m[4] = {};
  const size_t n = std::fread(m, 1, 4, f);
  std::fclose(f);
  return n == 4 && std::memcmp(m, "GGUF", 4) == 0;
}

}  // namespace still
