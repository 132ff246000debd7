// Weights held outside the f32 parameter buffer (e.g. Q8_0 blocks of a quantized teacher,
// model/q8_weights.h). A model whose matmul weights are stored that way keeps their f32 slots
// in the parameter buffer untouched (tensor/zero_floats.h) and, while an ExternalWeightsScope
// is alive on the thread, linear_forward and embedding_forward (kernels/) read the rows of W
// that the source holds through it: large batches dequantize W into a bounded scratch and run
// the fp32 matmul (the cost is amortised over the N rows); a few rows (decoding) take dot
// products straight from the stored rows.
#pragma once
#include <cstddef>
#include <cstdint>

namespace still::kernels {

class ExternalWeights {
 public:
  virtual ~ExternalWeights();
  // True when any row of the [rows, cols] matrix at W (an address in the parameter buffer)
  // is held here.
  virtual bool holds(const float* W, int64_t rows, int64_t cols) const = 0;
  // Rows [r0, r1) of the [*, cols] matrix at W as f32 into dst ([r1 - r0, cols]); rows not
  // held here are copied from W itself. Single-threaded (callers parallelise over rows).
  virtual void rows_f32(const float* W, int64_t cols, int64_t r0, int64_t r1, float* dst) const = 0;
  // Bytes of weights held (not counting the scratch).
  virtual size_t bytes() const = 0;
  // f32 elements of the parameter buffer whose values live here instead.
  virtual size_t floats_held() const = 0;

  // Scratch for dequantized panels of W: at most this many floats (default 16 Mi = 64 MiB).
  void set_scratch_limit(size_t floats) { scratch_limit_ = floats; }
  size_t scratch_limit() const { return scratch_limit_; }
  size_t scratch_bytes() const { return scratch_floats_ * sizeof(float); }

  // y[N, O] = x[N, I]·Wᵀ + beta·y (row-major), W [O, I] read through this source.
  void matmul_wt(int64_t N, int64_t O, int64_t I, const float* x, const float* W, float beta,
                 float* y);

 private:
  size_t scratch_limit_ = size_t(16) << 20;
  float* scratch_ = nullptr;
  size_t scratch_floats_ = 0;
  // The panel now in the scratch (reused when the same whole matrix comes again, e.g. the LM
  // head for every chunk of rows).
  const float* cached_W_ = nullptr;
  int64_t cached_rows_ = 0, cached_cols_ = 0;

 public:
  ExternalWeights() = default;
  ExternalWeights(const ExternalWeights&) = delete;
  ExternalWeights& operator=(const ExternalWeights&) = delete;
  void release_scratch();
};

// Makes `w` the external weight source of linear_forward / embedding_forward on this thread
// for the scope's lifetime (null: none).
class ExternalWeightsScope {
 public:
  explicit ExternalWeightsScope(ExternalWeights* w);
  ~ExternalWeightsScope();
  ExternalWeightsScope(const ExternalWeightsScope&) = delete;
  ExternalWeightsScope& operator=(const ExternalWeightsScope&) = delete;

 private:
  ExternalWeights* prev_;
};

ExternalWeights* active_external_weights();

}  // namespace still::kernels
