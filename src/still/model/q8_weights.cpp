#include "still/model/q8_weights.h"

#include <algorithm>
#include <cstring>

#include "still/tensor/dtype.h"
#include "still/util/error.h"

namespace still {
namespace {

constexpr int64_t kBlock = 32, kBlockBytes = 34;  // f16 scale + 32 int8

}  // namespace

Q8Weights::Q8Weights(std::shared_ptr<const GgufFile> file, const float* params)
    : file_(std::move(file)), params_(params) {}

void Q8Weights::add(size_t offset, int64_t rows, int64_t cols, const uint8_t* data,
                    std::vector<int32_t> row_of) {
  require(cols % kBlock == 0, "Q8_0 rows must hold whole blocks of 32");
  Tensor t;
  t.offset = offset;
  t.numel = size_t(rows) * size_t(cols);
  t.cols = cols;
  t.data = data;
  t.row_of = std::move(row_of);
  bytes_ += size_t(rows) * size_t(cols / kBlock * kBlockBytes);
  floats_ += t.numel;
  auto at = std::lower_bound(tensors_.begin(), tensors_.end(), offset,
                             [](const Tensor& a, size_t o) { return a.offset < o; });
  tensors_.insert(at, std::move(t));
}

const Q8Weights::Tensor* Q8Weights::find(size_t f) const {
  auto it = std::upper_bound(tensors_.begin(), tensors_.end(), f,
                             [](size_t o, const Tensor& a) { return o < a.offset; });
  if (it == tensors_.begin()) return nullptr;
  --it;
  return f < it->offset + it->numel ? &*it : nullptr;
}

bool Q8Weights::holds(const float* W, int64_t rows, int64_t cols) const {
  if (W < params_) return false;
  const size_t f0 = size_t(W - params_), f1 = f0 + size_t(rows) * size_t(cols);
  // The first held tensor that ends after f0 must start before f1.
  auto it = std::upper_bound(tensors_.begin(), tensors_.end(), f0,
                             [](size_t o, const Tensor& a) { return o < a.offset + a.numel; });
  return it != tensors_.end() && it->offset < f1;
}

void Q8Weights::rows_f32(const float* W, int64_t cols, int64_t r0, int64_t r1, float* dst) const {
  for (int64_t r = r0; r < r1; ++r, dst += cols) {
    const float* src = W + r * cols;
    const Tensor* t = src >= params_ ? find(size_t(src - params_)) : nullptr;
    if (!t) {
      std::memcpy(dst, src, sizeof(float) * size_t(cols));
      continue;
    }
    const size_t local = size_t(src - params_) - t->offset;
    require(t->cols == cols && local % size_t(cols) == 0,
            "internal: a Q8_0 weight was read with another row length");
    const int64_t row = int64_t(local / size_t(cols));
    const int64_t file_row = t->row_of.empty() ? row : t->row_of[size_t(row)];
    const uint8_t* blk = t->data + file_row * (cols / kBlock) * kBlockBytes;
    for (int64_t b = 0; b < cols / kBlock; ++b, blk += kBlockBytes) {
      uint16_t h;
      std::memcpy(&h, blk, 2);
      const float d = f16_to_f32(h);
      const int8_t* q = reinterpret_cast<const int8_t*>(blk + 2);
      float* out = dst + b * kBlock;
#pragma omp simd
      for (int j = 0; j < kBlock; ++j) out[j] = d * float(q[j]);
    }
  }
}

}  // namespace still
