#include "still/model/q8_weights.h"

#include <algorithm>
#include <cstring>
#include <string>

#include "still/tensor/dtype.h"
#include "still/util/error.h"

namespace still {
namespace {

constexpr int64_t kBlock = 32, kBlockBytes = 34;  // f16 scale + 32 int8

// Rows of stacked slices, each Q8_0 blocks in the file or f32 values in the parameters.
class Q8Matrix final : public kernels::QuantMatrix {
 public:
  struct Part {
    int64_t rows = 0;
    const uint8_t* q8 = nullptr;      // Q8_0 rows, or null: f32 rows at `f32`
    const int32_t* row_of = nullptr;  // HF row -> file row, or null
    const float* f32 = nullptr;
  };
  Q8Matrix(std::vector<Part> parts, int64_t cols, size_t bytes)
      : parts_(std::move(parts)), cols_(cols), bytes_(bytes) {
    for (const Part& p : parts_) rows_ += p.rows;
  }
  int64_t rows() const override { return rows_; }
  int64_t cols() const override { return cols_; }
  size_t bytes() const override { return bytes_; }

  void rows_f32(int64_t r0, int64_t r1, float* dst) const noexcept override {
    for (int64_t r = r0; r < r1; ++r, dst += cols_) {
      int64_t local = r;
      const Part* p = parts_.data();
      while (local >= p->rows) local -= (p++)->rows;
      if (!p->q8) {
        std::memcpy(dst, p->f32 + local * cols_, sizeof(float) * size_t(cols_));
        continue;
      }
      const int64_t file_row = p->row_of ? p->row_of[local] : local;
      const uint8_t* blk = p->q8 + file_row * (cols_ / kBlock) * kBlockBytes;
      for (int64_t b = 0; b < cols_ / kBlock; ++b, blk += kBlockBytes) {
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

 private:
  std::vector<Part> parts_;
  int64_t cols_ = 0, rows_ = 0;
  size_t bytes_ = 0;
};

}  // namespace

Q8Weights::Q8Weights(std::shared_ptr<const GgufFile> file, const float* params)
    : file_(std::move(file)), params_(params) {}

void Q8Weights::add(size_t offset, int64_t rows, int64_t cols, const uint8_t* data,
                    std::vector<int32_t> row_of) {
  require(cols % kBlock == 0, "Q8_0 rows must hold whole blocks of 32");
  require(row_of.empty() || int64_t(row_of.size()) == rows,
          "internal: a Q8_0 row map must have one entry per row");
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

const Q8Weights::Tensor* Q8Weights::find(size_t offset) const {
  auto it = std::lower_bound(tensors_.begin(), tensors_.end(), offset,
                             [](const Tensor& a, size_t o) { return a.offset < o; });
  return it != tensors_.end() && it->offset == offset ? &*it : nullptr;
}

std::unique_ptr<kernels::QuantMatrix> Q8Weights::matrix(const std::vector<Slice>& slices,
                                                        int64_t cols) const {
  std::vector<Q8Matrix::Part> parts;
  bool any = false;
  size_t bytes = 0;
  for (const Slice& s : slices) {
    Q8Matrix::Part p;
    p.rows = s.rows;
    const size_t numel = size_t(s.rows) * size_t(cols);
    if (const Tensor* t = find(s.offset)) {
      require(t->numel == numel && t->cols == cols,
              "internal: a Q8_0 tensor does not match the weight it stands for");
      p.q8 = t->data;
      p.row_of = t->row_of.empty() ? nullptr : t->row_of.data();
      bytes += size_t(s.rows) * size_t(cols / kBlock * kBlockBytes);
      any = true;
    } else {
      // Nothing held may start inside the slice either (it would be read as f32).
      auto it = std::upper_bound(tensors_.begin(), tensors_.end(), s.offset,
                                 [](size_t o, const Tensor& a) { return o < a.offset; });
      require(it == tensors_.end() || it->offset >= s.offset + numel,
              "internal: a Q8_0 tensor overlaps an f32 weight");
      p.f32 = params_ + s.offset;
      bytes += numel * sizeof(float);
    }
    parts.push_back(p);
  }
  if (!any) return nullptr;
  return std::make_unique<Q8Matrix>(std::move(parts), cols, bytes);
}

}  // namespace still
