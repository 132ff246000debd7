#include "still/kernels/linear.h"

#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

#include "still/kernels/bf16.h"
#include "still/kernels/matmul.h"
#include "still/kernels/matmul_bf16.h"
#include "still/kernels/parallel.h"
#include "still/util/error.h"
#include "still/util/parallel_errors.h"

namespace still::kernels {
namespace {

// Up to this many rows of x take dot products with the stored rows directly (decoding);
// more rows amortise a dequantized panel and the fast sgemm.
constexpr int64_t kDirectRows = 4;

// y[N, O] = x·Wᵀ + beta·y for a quantized W: see kDirectRows.
void quant_matmul_wt(int64_t N, const float* x, const QuantMatrix& W, float beta, float* y,
                     LinearScratch& s) {
  const int64_t O = W.rows(), I = W.cols();
  if (N <= kDirectRows) {
    // One stored row at a time into a per-thread row buffer, dotted with every row of x.
    ParallelErrors errors;
#pragma omp parallel
    {
      std::vector<float> row;
      errors.run([&] { row.resize(size_t(I)); });
#pragma omp for schedule(static)
      for (int64_t o = 0; o < O; ++o) {
        if (row.empty()) continue;  // this thread's allocation failed (reported below)
        W.rows_f32(o, o + 1, row.data());
        for (int64_t n = 0; n < N; ++n) {
          const float* xn = x + n * I;
          float acc = 0;
#pragma omp simd reduction(+ : acc)
          for (int64_t i = 0; i < I; ++i) acc += xn[i] * row[size_t(i)];
          float& out = y[n * O + o];
          out = beta == 0.0f ? acc : beta * out + acc;
        }
      }
    }
    errors.rethrow();
    return;
  }
  // Panels of whole rows that fit the scratch limit, dequantized in parallel, then sgemm.
  const int64_t panel = std::clamp<int64_t>(int64_t(s.dequant_limit()) / I, 1, O);
  float* deq = s.dequant(size_t(panel) * size_t(I));
  for (int64_t o0 = 0; o0 < O; o0 += panel) {
    const int64_t rows = std::min(panel, O - o0);
    if (!(rows == O && s.dequantized == &W)) {
      s.dequantized = nullptr;
#pragma omp parallel for schedule(static)
      for (int64_t r = 0; r < rows; ++r) W.rows_f32(o0 + r, o0 + r + 1, deq + r * I);
      if (rows == O) s.dequantized = &W;
    }
    matmul(false, true, N, rows, I, 1.0f, x, I, deq, I, beta, y + o0, O);
  }
}

}  // namespace

template <typename T>
T* LinearScratch::Buffer<T>::grow(size_t n) {
  if (n > size) {
    data.reset(new (std::nothrow) T[n]);
    if (!data) {
      size = 0;
      throw Error("out of memory: a matmul scratch buffer of " +
                  std::to_string((n * sizeof(T)) >> 20) + " MiB; use a smaller batch");
    }
    size = n;
  }
  return data.get();
}

float* LinearScratch::dequant(size_t floats) {
  if (floats > dequant_.size) dequantized = nullptr;  // the panel is about to be lost
  return dequant_.grow(floats);
}

uint16_t* LinearScratch::bf16(size_t elements) { return bf16_.grow(elements); }

void linear_forward(float* y, const float* x, uint16_t* x16, const LinearWeight& W, const float* b,
                    int64_t N, bool accumulate, LinearScratch& scratch) {
  const int64_t I = W.in, O = W.out;
  float beta = accumulate ? 1.0f : 0.0f;
  if (b) {
    // Seed each row with the bias (added to what is there when accumulating).
#pragma omp parallel for schedule(static) if (N * O >= kParallelMinWork)
    for (int64_t n = 0; n < N; ++n) {
      float* row = y + n * O;
      if (accumulate)
        for (int64_t o = 0; o < O; ++o) row[o] += b[o];
      else
        std::memcpy(row, b, size_t(O) * sizeof(float));
    }
    beta = 1.0f;
  }
  if (W.quant) {
    quant_matmul_wt(N, x, *W.quant, beta, y, scratch);
  } else if (W.bf16) {
    require(x16 != nullptr, "internal: a bf16 linear layer needs a buffer for its input");
    f32_to_bf16(x, x16, N * I);
    W.bf16->matmul(false, true, N, O, I, x16, I, W.f32, I, beta, y, O);
  } else {
    matmul(false, true, N, O, I, 1.0f, x, I, W.f32, I, beta, y, O);
  }
}

void linear_backward(float* dx, float* dW, float* db, const float* dy, const float* x,
                     const uint16_t* x16, const LinearWeight& W, int64_t N, bool accumulate_dx,
                     LinearScratch& scratch) {
  const int64_t I = W.in, O = W.out;
  require(W.quant == nullptr,
          "this model's weights are held quantized for inference only and cannot be trained");
  if (W.bf16) {
    require(x16 != nullptr, "internal: the bf16 backward needs its forward's input copy");
    // dy is rounded to bf16 once for both matmuls.
    uint16_t* dy16 = scratch.bf16(size_t(N * O));
    f32_to_bf16(dy, dy16, N * O);
    if (dx)
      W.bf16->matmul(false, false, N, I, O, dy16, O, W.f32, I, accumulate_dx ? 1.0f : 0.0f, dx, I);
    matmul_bf16(true, false, O, I, N, dy16, O, x16, I, 1.0f, dW, I);
  } else {
    if (dx)
      matmul(false, false, N, I, O, 1.0f, dy, O, W.f32, I, accumulate_dx ? 1.0f : 0.0f, dx, I);
    matmul(true, false, O, I, N, 1.0f, dy, O, x, I, 1.0f, dW, I);
  }
  if (db) bias_backward(db, dy, N, O);
}

}  // namespace still::kernels
