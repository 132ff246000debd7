#include "still/formats/safetensors.h"

#include <algorithm>
#include <cstring>
#include <nlohmann/json.hpp>

#include "still/io/atomic_file.h"
#include "still/util/error.h"

namespace still {
namespace {
constexpr uint64_t kMaxHeader = 100ull << 20;  // the format's own limit is 100 MB
constexpr int64_t kMaxDims = 8;

std::string shape_str(const std::vector<int64_t>& s) {
  std::string r = "[";
  for (size_t i = 0; i < s.size(); ++i) r += (i ? ", " : "") + std::to_string(s[i]);
  return r + "]";
}
}  // namespace

int64_t SafetensorsEntry::numel() const {
  int64_t n = 1;
  for (auto d : shape) n *= d;
  return n;
}

SafetensorsFile::SafetensorsFile(const std::string& path) : path_(path), map_(path) {
  parse(map_.data(), map_.size());
}

SafetensorsFile SafetensorsFile::parse_only(const uint8_t* data, size_t size,
                                            const std::string& what) {
  SafetensorsFile f;
  f.path_ = what;
  f.parse(data, size);
  return f;
}

void SafetensorsFile::parse(const uint8_t* p, size_t size) {
  auto fail = [&](const std::string& msg) {
    throw Error(path_ + ": " + msg +
                " (not a valid safetensors file; re-export or re-download it)");
  };
  if (size < 8) fail("file is " + std::to_string(size) + " bytes, too short for a header");
  uint64_t hlen = 0;
  for (int i = 7; i >= 0; --i) hlen = (hlen << 8) | p[i];
  if (hlen > kMaxHeader) fail("header length " + std::to_string(hlen) + " exceeds 100 MB");
  if (hlen > size - 8)
    fail("header claims " + std::to_string(hlen) + " bytes but the file has only " +
         std::to_string(size - 8) + " after the length (truncated?)");
  auto j = nlohmann::json::parse(p + 8, p + 8 + hlen, nullptr, false);
  if (j.is_discarded() || !j.is_object()) fail("header is not a JSON object");
  data_ = p + 8 + hlen;
  uint64_t data_size = size - 8 - hlen;

  for (auto it = j.begin(); it != j.end(); ++it) {
    const std::string& name = it.key();
    const auto& v = it.value();
    if (name == "__metadata__") {
      if (!v.is_object()) fail("__metadata__ is not an object");
      for (auto m = v.begin(); m != v.end(); ++m) {
        if (!m.value().is_string())
          fail("__metadata__ value for '" + m.key() + "' is not a string");
        metadata_[m.key()] = m.value().get<std::string>();
      }
      continue;
    }
    if (!v.is_object()) fail("entry '" + name + "' is not an object");
    auto dt = v.find("dtype");
    auto sh = v.find("shape");
    auto off = v.find("data_offsets");
    if (dt == v.end() || !dt->is_string()) fail("tensor '" + name + "' has no dtype string");
    if (sh == v.end() || !sh->is_array()) fail("tensor '" + name + "' has no shape array");
    if (off == v.end() || !off->is_array() || off->size() != 2)
      fail("tensor '" + name + "' needs data_offsets [begin, end]");
    SafetensorsEntry e;
    e.name = name;
    if (!dtype_from_name(dt->get<std::string>(), &e.dtype))
      fail("tensor '" + name + "' has unknown dtype '" + dt->get<std::string>() + "'");
    if (int64_t(sh->size()) > kMaxDims) fail("tensor '" + name + "' has too many dimensions");
    unsigned __int128 bytes = dtype_size(e.dtype);
    for (auto& d : *sh) {
      if (!d.is_number_unsigned())
        fail("tensor '" + name + "' has a negative or non-integer dimension");
      uint64_t x = d.get<uint64_t>();
      if (x > (1ull << 40))
        fail("tensor '" + name + "' has an absurd dimension " + std::to_string(x));
      e.shape.push_back(int64_t(x));
      bytes *= x;
      // Products past 2^62 cannot describe real bytes; stopping here also keeps the 128-bit
      // product (and numel()) from overflowing.
      if (bytes > ((unsigned __int128)1 << 62))
        fail("tensor '" + name + "' has shape " + shape_str(e.shape) +
             "... claiming more bytes than any file holds");
    }
    for (auto& o : *off)
      if (!o.is_number_unsigned()) fail("tensor '" + name + "' has non-integer data_offsets");
    e.begin = (*off)[0].get<uint64_t>();
    e.end = (*off)[1].get<uint64_t>();
    if (e.end < e.begin) fail("tensor '" + name + "' ends before it begins");
    if (e.end > data_size)
      fail("tensor '" + name + "' claims bytes up to " + std::to_string(e.end) +
           " but the data section holds " + std::to_string(data_size) + " (truncated?)");
    if (bytes != (unsigned __int128)(e.end - e.begin))
      fail("tensor '" + name + "' of shape " + shape_str(e.shape) + " and dtype " +
           dtype_name(e.dtype) + " needs " + std::to_string(uint64_t(bytes)) + " bytes but has " +
           std::to_string(e.end - e.begin));
    tensors_.push_back(std::move(e));
  }
  // The data section must be covered exactly: no overlaps, no gaps.
  std::vector<const SafetensorsEntry*> order;
  for (auto& t : tensors_) order.push_back(&t);
  std::sort(order.begin(), order.end(), [](auto* a, auto* b) {
    return a->begin != b->begin ? a->begin < b->begin : a->end < b->end;
  });
  uint64_t cursor = 0;
  for (auto* t : order) {
    if (t->begin < cursor) fail("tensor '" + t->name + "' overlaps another tensor's bytes");
    if (t->begin > cursor) fail("gap in the data section before tensor '" + t->name + "'");
    cursor = t->end;
  }
  if (cursor != data_size)
    fail("data section has " + std::to_string(data_size - cursor) + " bytes no tensor claims");
}

const SafetensorsEntry* SafetensorsFile::find(const std::string& name) const {
  for (auto& t : tensors_)
    if (t.name == name) return &t;
  return nullptr;
}

const SafetensorsEntry& SafetensorsFile::at(const std::string& name) const {
  auto* e = find(name);
  require(e != nullptr, path_ + ": tensor '" + name + "' is missing");
  return *e;
}

void SafetensorsFile::read_f32(const std::string& name, float* out, int64_t expected) const {
  const auto& e = at(name);
  require(e.numel() == expected, path_ + ": tensor '" + name + "' has shape " + shape_str(e.shape) +
                                     " (" + std::to_string(e.numel()) + " elements), expected " +
                                     std::to_string(expected) + " elements");
  const uint8_t* src = data(e);
  switch (e.dtype) {
    case DType::kF32:
      std::memcpy(out, src, size_t(expected) * 4);
      break;
    case DType::kBF16:
      for (int64_t i = 0; i < expected; ++i) {
        uint16_t h;
        std::memcpy(&h, src + 2 * i, 2);
        out[i] = bf16_to_f32(h);
      }
      break;
    case DType::kF16:
      for (int64_t i = 0; i < expected; ++i) {
        uint16_t h;
        std::memcpy(&h, src + 2 * i, 2);
        out[i] = f16_to_f32(h);
      }
      break;
    default:
      throw Error(path_ + ": tensor '" + name + "' has dtype " + dtype_name(e.dtype) +
                  ", expected a float type");
  }
}

void write_safetensors(const std::string& path, const std::vector<SafetensorsWriteEntry>& tensors,
                       const std::map<std::string, std::string>& metadata) {
  nlohmann::ordered_json h = nlohmann::ordered_json::object();
  if (!metadata.empty()) h["__metadata__"] = metadata;
  uint64_t off = 0;
  for (auto& t : tensors) {
    uint64_t n = dtype_size(t.dtype);
    for (auto d : t.shape) n *= uint64_t(d);
    h[t.name] = {
        {"dtype", dtype_name(t.dtype)}, {"shape", t.shape}, {"data_offsets", {off, off + n}}};
    off += n;
  }
  std::string header = h.dump();
  while ((header.size() + 8) % 8 != 0) header += ' ';
  uint8_t len[8];
  uint64_t hl = header.size();
  for (int i = 0; i < 8; ++i) len[i] = uint8_t(hl >> (8 * i));
  AtomicWriter w(path);
  w.write(len, 8);
  w.write(header);
  for (auto& t : tensors) {
    uint64_t n = dtype_size(t.dtype);
    for (auto d : t.shape) n *= uint64_t(d);
    w.write(t.data, n);
  }
  w.commit();
}

}  // namespace still
