#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "still/tensor/dtype.h"
#include "still/util/error.h"
#include "still/util/parallel_errors.h"
#include "still/util/rng.h"
#include "still/util/sha256.h"
#include "test_helpers.h"

namespace still {

TEST(Sha256, KnownVectors) {
  EXPECT_EQ(sha256_hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(sha256_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

TEST(Sha256, StreamingEqualsOneShot) {
  std::string s(1000, 'x');
  for (size_t i = 0; i < s.size(); ++i) s[i] = char(i * 7);
  Sha256 h;
  for (size_t i = 0; i < s.size(); i += 37) h.update(s.substr(i, 37));
  EXPECT_EQ(h.hex(), sha256_hex(s));
}

TEST(Rng, DeterministicAndRestorable) {
  Rng a(42), b(42);
  for (int i = 0; i < 10; ++i) EXPECT_EQ(a.next_u64(), b.next_u64());
  auto st = a.state();
  uint64_t x = a.next_u64();
  b.set_state(st);
  EXPECT_EQ(b.next_u64(), x);
  Rng c(43);
  EXPECT_NE(Rng(42).next_u64(), c.next_u64());
  EXPECT_NE(mix_seed(1, 2), mix_seed(2, 1));
}

TEST(DType, Bf16AndF16RoundTrip) {
  for (float f : {0.0f, 1.0f, -2.5f, 3.140625f, 65504.0f, -0.000061035156f}) {
    EXPECT_EQ(f16_to_f32(f32_to_f16(f)), f) << f;
  }
  EXPECT_EQ(bf16_to_f32(f32_to_bf16(1.0f)), 1.0f);
  EXPECT_EQ(bf16_to_f32(f32_to_bf16(-3.0f)), -3.0f);
  // Round to nearest even: 1 + 2^-8 is a tie between 1 and 1 + 2^-7.
  EXPECT_EQ(bf16_to_f32(f32_to_bf16(1.0f + 1.0f / 256)), 1.0f);
  EXPECT_EQ(f16_to_f32(f32_to_f16(1e-8f)), 0.0f);
  EXPECT_TRUE(std::isinf(f16_to_f32(f32_to_f16(1e6f))));
}

}  // namespace still

namespace still {
namespace {

// An error thrown on a worker thread of a parallel region reaches the caller (the first one
// of several), instead of terminating the process.
TEST(ParallelErrors, RethrowsTheFirstErrorOnTheCallingThread) {
  ParallelErrors errors;
  std::vector<int> ran(64, 0);
#pragma omp parallel for schedule(static) num_threads(2)
  for (int i = 0; i < 64; ++i)
    errors.run([&] {
      ran[size_t(i)] = 1;
      if (i == 17 || i == 50) throw Error("item " + std::to_string(i) + " failed");
    });
  EXPECT_TRUE(errors.failed());
  for (int r : ran) EXPECT_EQ(r, 1);  // the other iterations still ran
  try {
    errors.rethrow();
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    const std::string m = e.what();
    EXPECT_TRUE(m == "item 17 failed" || m == "item 50 failed") << m;
  }
  ParallelErrors none;
  none.run([] {});
  EXPECT_FALSE(none.failed());
  EXPECT_NO_THROW(none.rethrow());
}

}  // namespace

// require() builds its message only when the check fails (it runs per token in hot loops).
TEST(Require, BuildsTheMessageOnlyOnFailure) {
  int built = 0;
  auto message = [&] {
    ++built;
    return std::string("expensive");
  };
  for (int i = 0; i < 1000; ++i) require(i >= 0, "token ", i, " bad: ", message);
  EXPECT_EQ(built, 0);
  std::string what;
  try {
    require(false, "token ", int64_t(-3), " at ", size_t(7), ' ', message, " (", 'x', ")");
  } catch (const Error& e) {
    what = e.what();
  }
  EXPECT_EQ(what, "token -3 at 7 expensive (x)");
  EXPECT_EQ(built, 1);
  EXPECT_EQ(error_of([] { require(false, std::string("one") + " string"); }), "one string");
}

}  // namespace still
