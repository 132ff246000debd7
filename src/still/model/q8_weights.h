// A GGUF model's Q8_0 weights kept as they are in the file (memory-mapped, ~1.06 bytes per
// parameter) instead of dequantized into the model's f32 buffer. The loader registers each
// Q8_0 tensor by its parameter slice; the model then asks for the matrices its linear layers
// compute with (a fused [q; k; v] or [gate; up] is one matrix of several slices), each a
// kernels::QuantMatrix decoding rows on demand in Hugging Face row order (llama.cpp's
// permuted Q/K rows are mapped back by index, not copied).
#pragma once
#include <cstdint>
#include <memory>
#include <vector>

#include "still/formats/gguf.h"
#include "still/kernels/linear.h"

namespace still {

class Q8Weights {
 public:
  // `params` is the model's f32 buffer; held tensors are named by their offsets in it, and
  // slices not held here are read from it.
  Q8Weights(std::shared_ptr<const GgufFile> file, const float* params);

  // Holds the [rows, cols] Q8_0 tensor at `data` (in the file) for the parameter slice at
  // `offset`; `row_of` maps an HF row to its row in the file (empty: the same row).
  void add(size_t offset, int64_t rows, int64_t cols, const uint8_t* data,
           std::vector<int32_t> row_of);
  size_t num_tensors() const { return tensors_.size(); }

  // Rows `rows` of width `cols` starting at parameter offset `offset`.
  struct Slice {
    size_t offset = 0;
    int64_t rows = 0;
  };
  // The [Σ rows, cols] matrix made of `slices` stacked in order, or null when none is held
  // here. A held tensor must coincide with its slice. The matrix refers to this object
  // (keep it alive).
  std::unique_ptr<kernels::QuantMatrix> matrix(const std::vector<Slice>& slices,
                                               int64_t cols) const;

  size_t bytes() const { return bytes_; }         // Q8_0 bytes held
  size_t floats_held() const { return floats_; }  // f32 slots whose values live here

 private:
  struct Tensor {
    size_t offset = 0, numel = 0;
    int64_t cols = 0;
    const uint8_t* data = nullptr;
    std::vector<int32_t> row_of;
  };
  const Tensor* find(size_t offset) const;  // the held tensor starting at offset, or null
  std::shared_ptr<const GgufFile> file_;
  const float* params_;
  std::vector<Tensor> tensors_;  // sorted by offset
  size_t bytes_ = 0, floats_ = 0;
};

}  // namespace still
