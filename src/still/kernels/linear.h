// Linear layers with their weights passed explicitly. A LinearWeight says what a layer's
// [out, in] matrix (Hugging Face layout) is stored as — fp32 values, their bf16 packs for
// bf16 training, a quantized matrix for inference (later a LoRA pair or a device copy) — and
// linear_forward / linear_backward compute with exactly that: the path is chosen by the
// arguments, never by thread-local state or by where a pointer lies.
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>

namespace still::kernels {

class Bf16WeightPacks;

// A [rows, cols] weight matrix held in a compact storage type (Q8_0 today; other block types
// later). An implementation checks everything when it is built, so reading rows cannot fail:
// rows_f32 runs inside parallel regions, where no exception may escape.
class QuantMatrix {
 public:
  virtual ~QuantMatrix() = default;
  virtual int64_t rows() const = 0;
  virtual int64_t cols() const = 0;
  // Rows [r0, r1) as f32 into dst ([r1 - r0, cols]). Safe to call from many threads at once.
  virtual void rows_f32(int64_t r0, int64_t r1, float* dst) const noexcept = 0;
  virtual size_t bytes() const = 0;  // bytes of weights held
};

// What one linear layer computes with. `f32` is required unless `quant` is set; `bf16`
// (with `f32`) makes the layer's matmuls bf16 with fp32 accumulation.
struct LinearWeight {
  int64_t out = 0, in = 0;
  const float* f32 = nullptr;          // [out, in] row-major
  const QuantMatrix* quant = nullptr;  // the same matrix quantized (inference only), or null
  Bf16WeightPacks* bf16 = nullptr;     // packs of f32 (bf16 training), or null: fp32 matmuls
};

// Working memory of linear layers, owned by whoever runs them (a model's pass, one decode
// call) and never used by two threads at once. Buffers only grow.
class LinearScratch {
 public:
  LinearScratch() = default;
  LinearScratch(const LinearScratch&) = delete;
  LinearScratch& operator=(const LinearScratch&) = delete;

  // Dequantized panels of a quantized weight: at most this many floats (default 16 Mi =
  // 64 MiB); a larger matrix is processed a panel of rows at a time.
  void set_dequant_limit(size_t floats) { dequant_limit_ = floats; }
  size_t dequant_limit() const { return dequant_limit_; }
  size_t bytes() const { return dequant_.size * sizeof(float) + bf16_.size * sizeof(uint16_t); }

  float* dequant(size_t floats);    // a buffer of at least `floats` floats
  uint16_t* bf16(size_t elements);  // for the bf16 copy of a gradient
  // The quantized matrix whose every row is in dequant() now (its panel is reused when the
  // same matrix comes again, e.g. the LM head for every chunk of rows), or null.
  const QuantMatrix* dequantized = nullptr;

 private:
  template <typename T>
  struct Buffer {
    std::unique_ptr<T[]> data;
    size_t size = 0;
    T* grow(size_t n);
  };
  size_t dequant_limit_ = size_t(16) << 20;
  Buffer<float> dequant_;
  Buffer<uint16_t> bf16_;
};

// y[N, out] = x[N, in]·Wᵀ + b (b may be null); with `accumulate` added to y (residual adds).
// With W.bf16 the bf16 copy of x is written to x16 ([N, in], required then) for the layer's
// backward to read.
void linear_forward(float* y, const float* x, uint16_t* x16, const LinearWeight& W, const float* b,
                    int64_t N, bool accumulate, LinearScratch& scratch);

// Backward of linear_forward: dx[N, in] = dy·W (added with accumulate_dx; skipped if dx is
// null), dW[out, in] += dyᵀ·x, db[out] += Σ_rows dy (skipped if db is null). With W.bf16, x16
// is what the forward wrote. Throws still::Error for a quantized W (inference only).
void linear_backward(float* dx, float* dW, float* db, const float* dy, const float* x,
                     const uint16_t* x16, const LinearWeight& W, int64_t N, bool accumulate_dx,
                     LinearScratch& scratch);

}  // namespace still::kernels
