// Q8_0 / Q4_0 / F16 / BF16 encodings: bit layout of hand-made blocks and error bounds of
// quantize -> dequantize.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>

#include "still/formats/quant.h"
#include "still/tensor/dtype.h"
#include "still/util/error.h"
#include "still/util/rng.h"

namespace still {
namespace {

TEST(Quant, DecodesHandMadeQ8_0Block) {
  std::vector<uint8_t> blk(34);
  uint16_t d = f32_to_f16(0.5f);
  std::memcpy(blk.data(), &d, 2);
  for (int j = 0; j < 32; ++j) blk[2 + j] = uint8_t(int8_t(j - 16));
  std::vector<float> out(32);
  dequantize(GgmlType::kQ8_0, blk.data(), out.data(), 32, "t");
  for (int j = 0; j < 32; ++j) EXPECT_EQ(out[j], 0.5f * float(j - 16)) << j;
}

TEST(Quant, DecodesHandMadeQ4_0BlockNibbleOrder) {
  std::vector<uint8_t> blk(18);
  uint16_t d = f32_to_f16(0.25f);
  std::memcpy(blk.data(), &d, 2);
  // Byte j: low nibble -> element j, high nibble -> element j + 16.
  for (int j = 0; j < 16; ++j) blk[2 + j] = uint8_t((j & 0xf) | ((15 - j) << 4));
  std::vector<float> out(32);
  dequantize(GgmlType::kQ4_0, blk.data(), out.data(), 32, "t");
  for (int j = 0; j < 16; ++j) {
    EXPECT_EQ(out[j], 0.25f * float(j - 8)) << j;
    EXPECT_EQ(out[j + 16], 0.25f * float(15 - j - 8)) << j;
  }
}

TEST(Quant, RoundTripsWithinEachTypesBound) {
  Rng rng(7);
  const int64_t n = 32 * 64;
  std::vector<float> x(n);
  for (auto& v : x) v = float(rng.normal() * 0.1);
  x[5] = 0;  // zero block members and an all-zero block must survive
  for (int j = 64; j < 96; ++j) x[j] = 0;
  for (GgmlType t :
       {GgmlType::kF32, GgmlType::kF16, GgmlType::kBF16, GgmlType::kQ8_0, GgmlType::kQ4_0}) {
    auto bytes = quantize(t, x.data(), n);
    EXPECT_EQ(bytes.size(), ggml_row_bytes(t, n)) << ggml_type_name(t);
    std::vector<float> y(n);
    dequantize(t, bytes.data(), y.data(), n, "t");
    for (int64_t b = 0; b < n / 32; ++b) {
      float amax = 0;
      for (int j = 0; j < 32; ++j) amax = std::max(amax, std::fabs(x[b * 32 + j]));
      for (int j = 0; j < 32; ++j) {
        int64_t i = b * 32 + j;
        double bound = t == GgmlType::kF16 || t == GgmlType::kBF16
                           ? quant_relative_error_bound(t) * std::fabs(x[i]) + 1e-7
                           : quant_relative_error_bound(t) * amax * 0.6 + 1e-7;
        // Q4_0 maps the largest magnitude to -8; on the other side +8 clips to 7: up to a step.
        if (t == GgmlType::kQ4_0) bound = amax / 8.0 + amax * 1e-2;
        ASSERT_LE(std::fabs(double(y[i]) - x[i]), bound) << ggml_type_name(t) << " at " << i;
        ASSERT_FALSE(std::isnan(y[i]));
      }
    }
    if (t == GgmlType::kF32) {
      EXPECT_EQ(x, y);
    }
  }
}

TEST(Quant, Q8_0HitsTheExtremesExactly) {
  std::vector<float> x(32, 0.0f);
  x[0] = 1.27f;
  x[1] = -1.27f;
  auto b = quantize(GgmlType::kQ8_0, x.data(), 32);
  EXPECT_EQ(int8_t(b[2]), 127);
  EXPECT_EQ(int8_t(b[3]), -127);
}

TEST(Quant, UnsupportedTypesNameTheTensor) {
  std::vector<uint8_t> blk(210);
  std::vector<float> out(256);
  try {
    dequantize(GgmlType::kQ6_K, blk.data(), out.data(), 256, "m.gguf: tensor 'x'");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("m.gguf: tensor 'x' is stored as Q6_K"), std::string::npos)
        << e.what();
  }
  EXPECT_THROW(quantize(GgmlType::kQ8_0, out.data(), 31), Error);
}

}  // namespace
}  // namespace still
