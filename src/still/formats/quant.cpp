#include "still/formats/quant.h"

#include <cmath>
#include <cstring>

#include "still/tensor/dtype.h"
#include "still/util/error.h"

namespace still {
namespace {

constexpr int64_t kQ8Bytes = 2 + kQuantBlock;      // f16 scale + 32 int8
constexpr int64_t kQ4Bytes = 2 + kQuantBlock / 2;  // f16 scale + 16 bytes of nibbles

uint16_t load_u16(const uint8_t* p) {
  uint16_t v;
  std::memcpy(&v, p, 2);
  return v;
}

void store_u16(uint8_t* p, uint16_t v) { std::memcpy(p, &v, 2); }

}  // namespace

bool can_dequantize(GgmlType t) {
  return t == GgmlType::kF32 || t == GgmlType::kF16 || t == GgmlType::kBF16 ||
         t == GgmlType::kQ8_0 || t == GgmlType::kQ4_0;
}

void dequantize(GgmlType t, const uint8_t* src, float* dst, int64_t n, const std::string& what) {
  switch (t) {
    case GgmlType::kF32:
      std::memcpy(dst, src, size_t(n) * 4);
      return;
    case GgmlType::kF16:
#pragma omp parallel for schedule(static)
      for (int64_t i = 0; i < n; ++i) dst[i] = f16_to_f32(load_u16(src + 2 * i));
      return;
    case GgmlType::kBF16:
#pragma omp parallel for schedule(static)
      for (int64_t i = 0; i < n; ++i) dst[i] = bf16_to_f32(load_u16(src + 2 * i));
      return;
    case GgmlType::kQ8_0: {
      require(n % kQuantBlock == 0, what + ": Q8_0 data must hold whole blocks of 32");
#pragma omp parallel for schedule(static)
      for (int64_t b = 0; b < n / kQuantBlock; ++b) {
        const uint8_t* blk = src + b * kQ8Bytes;
        const float d = f16_to_f32(load_u16(blk));
        const int8_t* q = reinterpret_cast<const int8_t*>(blk + 2);
        for (int64_t j = 0; j < kQuantBlock; ++j) dst[b * kQuantBlock + j] = d * float(q[j]);
      }
      return;
    }
    case GgmlType::kQ4_0: {
      require(n % kQuantBlock == 0, what + ": Q4_0 data must hold whole blocks of 32");
      // Byte j holds element j in its low nibble and element j + 16 in its high nibble.
#pragma omp parallel for schedule(static)
      for (int64_t b = 0; b < n / kQuantBlock; ++b) {
        const uint8_t* blk = src + b * kQ4Bytes;
        const float d = f16_to_f32(load_u16(blk));
        float* out = dst + b * kQuantBlock;
        for (int64_t j = 0; j < kQuantBlock / 2; ++j) {
          out[j] = d * float(int(blk[2 + j] & 0x0f) - 8);
          out[j + 16] = d * float(int(blk[2 + j] >> 4) - 8);
        }
      }
      return;
    }
    default:
      throw Error(what + " is stored as " + ggml_type_name(t) +
                  ", which still cannot decode (supported: F32, F16, BF16, Q8_0, Q4_0); "
                  "requantize the model to one of those with llama.cpp");
  }
}

std::vector<uint8_t> quantize(GgmlType t, const float* src, int64_t n) {
  std::vector<uint8_t> out;
  switch (t) {
    case GgmlType::kF32:
      out.resize(size_t(n) * 4);
      std::memcpy(out.data(), src, out.size());
      return out;
    case GgmlType::kF16:
      out.resize(size_t(n) * 2);
      for (int64_t i = 0; i < n; ++i) store_u16(out.data() + 2 * i, f32_to_f16(src[i]));
      return out;
    case GgmlType::kBF16:
      out.resize(size_t(n) * 2);
      for (int64_t i = 0; i < n; ++i) store_u16(out.data() + 2 * i, f32_to_bf16(src[i]));
      return out;
    case GgmlType::kQ8_0: {
      require(n % kQuantBlock == 0, "Q8_0 needs a multiple of 32 elements");
      out.resize(size_t(n / kQuantBlock * kQ8Bytes));
#pragma omp parallel for schedule(static)
      for (int64_t b = 0; b < n / kQuantBlock; ++b) {
        const float* x = src + b * kQuantBlock;
        float amax = 0;
        for (int64_t j = 0; j < kQuantBlock; ++j) amax = std::max(amax, std::fabs(x[j]));
        const float d = amax / 127.0f;
        const float id = d != 0 ? 1.0f / d : 0.0f;
        uint8_t* blk = out.data() + b * kQ8Bytes;
        store_u16(blk, f32_to_f16(d));
        for (int64_t j = 0; j < kQuantBlock; ++j)
          blk[2 + j] = uint8_t(int8_t(std::lround(x[j] * id)));
      }
      return out;
    }
    case GgmlType::kQ4_0: {
      require(n % kQuantBlock == 0, "Q4_0 needs a multiple of 32 elements");
      out.resize(size_t(n / kQuantBlock * kQ4Bytes));
#pragma omp parallel for schedule(static)
      for (int64_t b = 0; b < n / kQuantBlock; ++b) {
        const float* x = src + b * kQuantBlock;
        // The signed value of largest magnitude maps to -8, so the full range [-8, 7] is used.
        float amax = 0, vmax = 0;
        for (int64_t j = 0; j < kQuantBlock; ++j)
          if (std::fabs(x[j]) > amax) amax = std::fabs(x[j]), vmax = x[j];
        const float d = vmax / -8.0f;
        const float id = d != 0 ? 1.0f / d : 0.0f;
        uint8_t* blk = out.data() + b * kQ4Bytes;
        store_u16(blk, f32_to_f16(d));
        for (int64_t j = 0; j < kQuantBlock / 2; ++j) {
          auto q = [&](float v) { return uint8_t(std::min(15, int(v * id + 8.5f))); };
          blk[2 + j] = uint8_t(q(x[j]) | (q(x[j + 16]) << 4));
        }
      }
      return out;
    }
    default:
      throw Error("cannot encode weights as " + ggml_type_name(t) +
                  " (supported: f32, f16, bf16, q8_0, q4_0)");
  }
}

double quant_relative_error_bound(GgmlType t) {
  switch (t) {
    case GgmlType::kF32:
      return 0;
    case GgmlType::kF16:
      return 1.0 / 1024;  // half an ulp at 10 mantissa bits, plus scale
    case GgmlType::kBF16:
      return 1.0 / 128;
    case GgmlType::kQ8_0:
      return 1.0 / 127;  // half a step of amax/127, plus f16 scale rounding
    case GgmlType::kQ4_0:
      return 1.0 / 8;
    default:
      return 1;
  }
}

}  // namespace still
