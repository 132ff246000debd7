// No exception may leave an OpenMP parallel region (the runtime would call std::terminate).
// Code inside a region that can throw (an allocation, a matmul backend's error, a check on
// input) runs through ParallelErrors::run, which keeps the first exception; the thread that
// opened the region calls rethrow() after it, so the error reaches the caller as if the loop
// had run on one thread.
#pragma once
#include <exception>

namespace still {

class ParallelErrors {
 public:
  // Runs f, keeping its exception (the first of all threads) instead of letting it escape.
  template <typename F>
  void run(F&& f) noexcept {
    try {
      f();
    } catch (...) {
#pragma omp critical(still_parallel_errors)
      if (!first_) first_ = std::current_exception();
    }
  }
  bool failed() const { return first_ != nullptr; }
  // Call after the region, on the thread that opened it.
  void rethrow() const {
    if (first_) std::rethrow_exception(first_);
  }

 private:
  std::exception_ptr first_;
};

}  // namespace still
