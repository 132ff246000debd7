#include "still/formats/gguf_writer.h"

#include <cstring>

#include "still/io/atomic_file.h"
#include "still/util/error.h"

namespace still {
namespace {

template <typename T>
void put(std::string& out, T v) {
  char b[sizeof(T)];
  std::memcpy(b, &v, sizeof(T));
  out.append(b, sizeof(T));
}

void put_str(std::string& out, const std::string& s) {
  put<uint64_t>(out, s.size());
  out += s;
}

std::string typed(GgufValueType t) {
  std::string s;
  put<uint32_t>(s, uint32_t(t));
  return s;
}

uint64_t align_up(uint64_t x, uint64_t a) { return (x + a - 1) / a * a; }

}  // namespace

GgufWriter::GgufWriter(uint32_t alignment) : alignment_(alignment) {
  require(alignment > 0 && (alignment & (alignment - 1)) == 0,
          "GGUF alignment must be a power of two");
  if (alignment != 32) set_u32("general.alignment", alignment);
}

void GgufWriter::set_raw(const std::string& key, GgufValueType type, std::string payload) {
  std::string enc = typed(type) + payload;
  for (auto& [k, v] : kv_)
    if (k == key) {
      v = std::move(enc);
      return;
    }
  kv_.emplace_back(key, std::move(enc));
}

void GgufWriter::set_u32(const std::string& key, uint32_t v) {
  std::string p;
  put(p, v);
  set_raw(key, GgufValueType::kU32, p);
}
void GgufWriter::set_i32(const std::string& key, int32_t v) {
  std::string p;
  put(p, v);
  set_raw(key, GgufValueType::kI32, p);
}
void GgufWriter::set_u64(const std::string& key, uint64_t v) {
  std::string p;
  put(p, v);
  set_raw(key, GgufValueType::kU64, p);
}
void GgufWriter::set_f32(const std::string& key, float v) {
  std::string p;
  put(p, v);
  set_raw(key, GgufValueType::kF32, p);
}
void GgufWriter::set_bool(const std::string& key, bool v) {
  set_raw(key, GgufValueType::kBool, std::string(1, v ? '\1' : '\0'));
}
void GgufWriter::set_string(const std::string& key, const std::string& v) {
  std::string p;
  put_str(p, v);
  set_raw(key, GgufValueType::kString, p);
}
void GgufWriter::set_strings(const std::string& key, const std::vector<std::string>& v) {
  std::string p = typed(GgufValueType::kString);
  put<uint64_t>(p, v.size());
  for (auto& s : v) put_str(p, s);
  set_raw(key, GgufValueType::kArray, p);
}
void GgufWriter::set_i32s(const std::string& key, const std::vector<int32_t>& v) {
  std::string p = typed(GgufValueType::kI32);
  put<uint64_t>(p, v.size());
  for (auto x : v) put(p, x);
  set_raw(key, GgufValueType::kArray, p);
}
void GgufWriter::set_f32s(const std::string& key, const std::vector<float>& v) {
  std::string p = typed(GgufValueType::kF32);
  put<uint64_t>(p, v.size());
  for (auto x : v) put(p, x);
  set_raw(key, GgufValueType::kArray, p);
}

void GgufWriter::copy_value(const std::string& key, const GgufValue& v) {
  std::string p;
  if (v.type == GgufValueType::kString) {
    put_str(p, std::string(v.strings[0]));
  } else if (v.is_array()) {
    put<uint32_t>(p, uint32_t(v.elem_type));
    put<uint64_t>(p, v.count);
    if (v.elem_type == GgufValueType::kString)
      for (auto s : v.strings) put_str(p, std::string(s));
    else
      p.append(reinterpret_cast<const char*>(v.raw), v.count * gguf_scalar_size(v.elem_type));
  } else {
    p.append(reinterpret_cast<const char*>(v.raw), gguf_scalar_size(v.type));
  }
  set_raw(key, v.type, p);
}

void GgufWriter::add_tensor(const std::string& name, std::vector<int64_t> dims, GgmlType type,
                            std::vector<uint8_t> bytes) {
  require(!dims.empty() && dims.size() <= 4, "GGUF tensor '" + name + "' needs 1 to 4 dims");
  int64_t rows = 1;
  for (size_t i = 1; i < dims.size(); ++i) rows *= dims[i];
  auto* tr = ggml_type_traits(uint32_t(type));
  require(tr && dims[0] % tr->block_size == 0, "GGUF tensor '" + name + "': row length " +
                                                   std::to_string(dims[0]) + " does not fit type " +
                                                   ggml_type_name(type));
  require(uint64_t(rows) * ggml_row_bytes(type, dims[0]) == bytes.size(),
          "GGUF tensor '" + name + "': " + std::to_string(bytes.size()) +
              " bytes do not match its shape and type");
  tensors_.push_back({name, std::move(dims), type, std::move(bytes)});
}

std::string GgufWriter::header() const {
  std::string h = "GGUF";
  put<uint32_t>(h, 3);
  put<uint64_t>(h, tensors_.size());
  put<uint64_t>(h, kv_.size());
  for (auto& [k, v] : kv_) {
    put_str(h, k);
    h += v;
  }
  uint64_t off = 0;
  for (auto& t : tensors_) {
    put_str(h, t.name);
    put<uint32_t>(h, uint32_t(t.dims.size()));
    for (auto d : t.dims) put<uint64_t>(h, uint64_t(d));
    put<uint32_t>(h, uint32_t(t.type));
    put<uint64_t>(h, off);
    off = align_up(off + t.bytes.size(), alignment_);
  }
  h.resize(align_up(h.size(), alignment_), '\0');
  return h;
}

std::string GgufWriter::to_bytes() const {
  std::string out = header();
  for (auto& t : tensors_) {
    out.append(reinterpret_cast<const char*>(t.bytes.data()), t.bytes.size());
    out.resize(align_up(out.size(), alignment_), '\0');
  }
  return out;
}

void GgufWriter::write(const std::string& path) const {
  AtomicWriter w(path);
  std::string h = header();
  w.write(h);
  static const char zeros[64] = {};
  uint64_t pos = h.size();
  for (auto& t : tensors_) {
    w.write(t.bytes.data(), t.bytes.size());
    pos += t.bytes.size();
    while (pos % alignment_) {
      uint64_t n = std::min<uint64_t>(sizeof zeros, alignment_ - pos % alignment_);
      w.write(zeros, n);
      pos += n;
    }
  }
  w.commit();
}

}  // namespace still
