// A buffer of zero floats whose memory is committed only where it is written: anonymous
// mmap pages cost nothing until touched. A model's gradients cost no RAM for inference, and
// the f32 slots of weights held elsewhere (model/q8_weights.h) are never touched.
#pragma once
#include <cstddef>

namespace still {

class ZeroFloats {
 public:
  ZeroFloats() = default;
  explicit ZeroFloats(size_t n);  // throws still::Error when the address space is exhausted
  ~ZeroFloats();
  ZeroFloats(ZeroFloats&& o) noexcept;
  ZeroFloats& operator=(ZeroFloats&& o) noexcept;
  ZeroFloats(const ZeroFloats&) = delete;
  ZeroFloats& operator=(const ZeroFloats&) = delete;

  float* data() { return data_; }
  const float* data() const { return data_; }
  size_t size() const { return size_; }
  float& operator[](size_t i) { return data_[i]; }
  const float& operator[](size_t i) const { return data_[i]; }
  float* begin() { return data_; }
  float* end() { return data_ + size_; }
  const float* begin() const { return data_; }
  const float* end() const { return data_ + size_; }

 private:
  void release();
  float* data_ = nullptr;
  size_t size_ = 0;
};

}  // namespace still
