#include "still/tensor/zero_floats.h"

#include <sys/mman.h>

#include <cstdlib>
#include <string>
#include <utility>

#include "still/util/error.h"

namespace still {

ZeroFloats::ZeroFloats(size_t n) : size_(n) {
  if (n == 0) return;
#ifdef __SANITIZE_ADDRESS__
  // Under AddressSanitizer: a heap block, so out-of-bounds accesses are still caught.
  data_ = static_cast<float*>(std::calloc(n, sizeof(float)));
  require(data_ != nullptr, "out of memory: cannot allocate " +
                                std::to_string((n * sizeof(float)) >> 20) + " MiB for parameters");
  return;
#endif
  void* p = ::mmap(nullptr, n * sizeof(float), PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  require(p != MAP_FAILED, "out of memory: cannot reserve " +
                               std::to_string((n * sizeof(float)) >> 20) + " MiB for parameters");
  data_ = static_cast<float*>(p);
}

void ZeroFloats::release() {
  if (!data_) return;
#ifdef __SANITIZE_ADDRESS__
  std::free(data_);
#else
  ::munmap(data_, size_ * sizeof(float));
#endif
  data_ = nullptr;
}

ZeroFloats::~ZeroFloats() { release(); }

ZeroFloats::ZeroFloats(ZeroFloats&& o) noexcept
    : data_(std::exchange(o.data_, nullptr)), size_(std::exchange(o.size_, 0)) {}

ZeroFloats& ZeroFloats::operator=(ZeroFloats&& o) noexcept {
  if (this != &o) {
    release();
    data_ = std::exchange(o.data_, nullptr);
    size_ = std::exchange(o.size_, 0);
  }
  return *this;
}

}  // namespace still
