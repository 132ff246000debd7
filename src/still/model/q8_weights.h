// A GGUF model's Q8_0 weights kept as they are in the file (memory-mapped, ~1.06 bytes per
// parameter) instead of dequantized into the model's f32 buffer: the external weight source
// (kernels/external_weights.h) of a quantized teacher. Rows are decoded on demand, in Hugging
// Face row order (llama.cpp's permuted Q/K rows are mapped back by index, not copied).
#pragma once
#include <cstdint>
#include <memory>
#include <vector>

#include "still/formats/gguf.h"
#include "still/kernels/external_weights.h"

namespace still {

class Q8Weights : public kernels::ExternalWeights {
 public:
  // `params` is the model's f32 buffer; held tensors are named by their offsets in it.
  Q8Weights(std::shared_ptr<const GgufFile> file, const float* params);

  // Holds the [rows, cols] Q8_0 tensor at `data` (in the file) for the parameter slice at
  // `offset`; `row_of` maps an HF row to its row in the file (empty: the same row).
  void add(size_t offset, int64_t rows, int64_t cols, const uint8_t* data,
           std::vector<int32_t> row_of);
  size_t num_tensors() const { return tensors_.size(); }

  bool holds(const float* W, int64_t rows, int64_t cols) const override;
  void rows_f32(const float* W, int64_t cols, int64_t r0, int64_t r1, float* dst) const override;
  size_t bytes() const override { return bytes_; }
  size_t floats_held() const override { return floats_; }

 private:
  struct Tensor {
    size_t offset = 0, numel = 0;
    int64_t cols = 0;
    const uint8_t* data = nullptr;
    std::vector<int32_t> row_of;
  };
  // The held tensor containing parameter offset f, or null.
  const Tensor* find(size_t f) const;
  std::shared_ptr<const GgufFile> file_;
  const float* params_;
  std::vector<Tensor> tensors_;  // sorted by offset
  size_t bytes_ = 0, floats_ = 0;
};

}  // namespace still
