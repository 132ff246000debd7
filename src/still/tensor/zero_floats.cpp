#include "still/tensor/zero_floats.h"

#include <sys/mman.h>

#include <string>
#include <utility>

#include "still/util/error.h"

namespace still {

ZeroFloats::ZeroFloats(size_t n) : size_(n) {
  if (n == 0) return;
  void* p = ::mmap(nullptr, n * sizeof(float), PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  require(p != MAP_FAILED, "out of memory: cannot reserve " +
                               std::to_string((n * sizeof(float)) >> 20) + " MiB for parameters");
  data_ = static_cast<float*>(p);
}

ZeroFloats::~ZeroFloats() {
  if (data_) ::munmap(data_, size_ * sizeof(float));
}

ZeroFloats::ZeroFloats(ZeroFloats&& o) noexcept
    : data_(std::exchange(o.data_, nullptr)), size_(std::exchange(o.size_, 0)) {}

ZeroFloats& ZeroFloats::operator=(ZeroFloats&& o) noexcept {
  if (this != &o) {
    if (data_) ::munmap(data_, size_ * sizeof(float));
    data_ = std::exchange(o.data_, nullptr);
    size_ = std::exchange(o.size_, 0);
  }
  return *this;
}

}  // namespace still
