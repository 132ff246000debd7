// Teacher signal: top-k extraction from logits, the compact codec, and shard files.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "still/data/signal_shard.h"
#include "still/io/atomic_file.h"
#include "still/teach/topk_collector.h"
#include "still/util/error.h"
#include "still/util/rng.h"
#include "test_helpers.h"

namespace still {

TEST(TopK, MatchesBruteForceWithTiesById) {
  const int V = 50, k = 7;
  std::vector<float> z(V);
  Rng rng(5);
  for (auto& x : z) x = float(std::round(rng.normal() * 4) / 4);  // many ties
  std::vector<int32_t> ids(k), scratch;
  std::vector<float> lp(k);
  float lt;
  TopKRow::extract(z.data(), V, k, ids.data(), lp.data(), &lt, scratch);
  std::vector<int> all(V);
  for (int j = 0; j < V; ++j) all[size_t(j)] = j;
  std::stable_sort(all.begin(), all.end(),
                   [&](int a, int b) { return z[size_t(a)] > z[size_t(b)]; });
  double m = *std::max_element(z.begin(), z.end()), s = 0;
  for (float x : z) s += std::exp(x - m);
  double lse = m + std::log(s), tail = 0;
  for (int i = 0; i < k; ++i) {
    EXPECT_EQ(ids[size_t(i)], all[size_t(i)]);
    EXPECT_NEAR(lp[size_t(i)], z[size_t(all[size_t(i)])] - lse, 1e-6);
  }
  for (int j = k; j < V; ++j) tail += std::exp(z[size_t(all[size_t(j)])] - lse);
  EXPECT_NEAR(lt, std::log(tail), 1e-6);
}

TEST(TopK, TinyTailKeepsPrecision) {
  const int V = 100, k = 2;
  std::vector<float> z(V, -80.0f);
  z[3] = 10.0f;
  z[7] = 9.0f;
  std::vector<int32_t> ids(k), scratch;
  std::vector<float> lp(k);
  float lt;
  TopKRow::extract(z.data(), V, k, ids.data(), lp.data(), &lt, scratch);
  // 98 tokens at −80 against the top two: log tail ≈ log(98) − 90 − log(1 + e^−1).
  double expected = std::log(98.0) - 90.0 - std::log1p(std::exp(-1.0));
  EXPECT_NEAR(lt, expected, 1e-4);
}

namespace {
// A realistic-looking signal: peaked distributions from random logits.
void random_signal(int n, int V, int k, uint64_t seed, std::vector<int32_t>& ids,
                   std::vector<float>& lp, std::vector<float>& lt) {
  Rng rng(seed);
  std::vector<float> z(static_cast<size_t>(V));
  std::vector<int32_t> scratch;
  ids.resize(size_t(n) * k);
  lp.resize(size_t(n) * k);
  lt.resize(size_t(n));
  for (int p = 0; p < n; ++p) {
    for (auto& x : z) x = float(2.5 * rng.normal());
    TopKRow::extract(z.data(), V, k, ids.data() + size_t(p) * k, lp.data() + size_t(p) * k,
                     &lt[size_t(p)], scratch);
  }
}
}  // namespace

TEST(SignalCodec, RoundTripIsCloseAndNormalised) {
  const int n = 300, V = 1000, k = 16;
  std::vector<int32_t> ids;
  std::vector<float> lp, lt;
  random_signal(n, V, k, 9, ids, lp, lt);
  SignalQuant q;
  std::string bytes;
  encode_signal_block(k, n, ids.data(), lp.data(), lt.data(), q, bytes);
  std::vector<int32_t> ids2(ids.size());
  std::vector<float> lp2(lp.size()), lt2(lt.size());
  decode_signal_block(k, n, V, bytes, q, ids2.data(), lp2.data(), lt2.data(), "test");
  for (int p = 0; p < n; ++p) {
    double s = std::exp(double(lt2[size_t(p)]));
    for (int i = 0; i < k; ++i) {
      size_t e = size_t(p) * k + size_t(i);
      s += std::exp(double(lp2[e]));
      // Same entry set; values within the companded step at their distance δ below the
      // top-1, step·(1 + δ/κ), κ = 1/4 nat, plus renormalisation.
      auto it = std::find(ids2.begin() + long(p) * k, ids2.begin() + long(p + 1) * k, ids[e]);
      ASSERT_NE(it, ids2.begin() + long(p + 1) * k);
      size_t e2 = size_t(it - ids2.begin());
      double delta = double(lp[size_t(p) * k]) - double(lp[e]);
      EXPECT_NEAR(lp2[e2], lp[e], q.logp_step * (1.0 + delta / 0.25));
    }
    EXPECT_NEAR(s, 1.0, 1e-6);
    for (int i = 1; i < k; ++i)
      EXPECT_GE(lp2[size_t(p) * k + size_t(i) - 1], lp2[size_t(p) * k + size_t(i)]);
  }
  // Truncated input is an error, not a crash.
  EXPECT_THROW(decode_signal_block(k, n, V, std::string_view(bytes).substr(0, bytes.size() - 5), q,
                                   ids2.data(), lp2.data(), lt2.data(), "test"),
               Error);
  // An id outside the vocabulary is rejected.
  EXPECT_THROW(decode_signal_block(k, n, 10, bytes, q, ids2.data(), lp2.data(), lt2.data(), "test"),
               Error);
}

TEST(SignalShard, WriteReadRandomAccessAndDetectDamage) {
  const int n = 700, V = 500, k = 8;
  std::vector<int32_t> ids;
  std::vector<float> lp, lt;
  random_signal(n, V, k, 11, ids, lp, lt);
  TempDir d;
  std::string path = d.path + "/s.sig";
  SignalShardInfo info;
  info.k = k;
  info.vocab = V;
  info.positions = n;
  info.block_positions = 128;
  write_signal_shard(path, info, ids.data(), lp.data(), lt.data());
  SignalShard sh(path);
  EXPECT_EQ(sh.info().positions, n);
  EXPECT_EQ(sh.info().k, k);
  // A range that spans blocks equals the same range decoded whole.
  std::vector<int32_t> all_ids(size_t(n) * k), part_ids(100 * k);
  std::vector<float> all_lp(size_t(n) * k), part_lp(100 * k), all_lt(n), part_lt(100);
  sh.read(0, n, all_ids.data(), all_lp.data(), all_lt.data());
  sh.read(100, 100, part_ids.data(), part_lp.data(), part_lt.data());
  for (int i = 0; i < 100 * k; ++i) {
    EXPECT_EQ(part_ids[size_t(i)], all_ids[size_t(100 * k + i)]);
    EXPECT_EQ(part_lp[size_t(i)], all_lp[size_t(100 * k + i)]);
  }
  EXPECT_THROW(sh.read(650, 100, part_ids.data(), part_lp.data(), part_lt.data()), Error);
  // Deterministic bytes.
  std::string first = read_file(path);
  write_signal_shard(path, info, ids.data(), lp.data(), lt.data());
  EXPECT_EQ(read_file(path), first);
  // One flipped byte or a truncation is caught by the hash and names the file.
  std::string bad = first;
  bad[bad.size() / 2] ^= 1;
  write_file_atomic(path, bad);
  try {
    SignalShard s2(path);
    FAIL() << "damage not detected";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("s.sig"), std::string::npos);
  }
  write_file_atomic(path, first.substr(0, first.size() - 40));
  EXPECT_THROW(SignalShard s3(path), Error);
}

}  // namespace still

#include "still/data/manifest.h"
#include "still/data/signal_dir.h"

namespace still {

TEST(SignalDir, FillsBatchesFromWindowsAndShardsAndNamesDamage) {
  TempDir d;
  SignalMeta meta;
  meta.k = 4;
  meta.teacher_vocab = 60;
  meta.T = 5;
  meta.num_windows = 7;
  meta.windows_per_shard = 3;
  meta.tokenizer_kind = "bytes";
  meta.bos_policy = "none";
  Batch w;
  w.resize(int(meta.num_windows), meta.T);
  for (size_t i = 0; i < w.tokens.size(); ++i) {
    w.tokens[i] = int32_t(i % 60);
    w.positions[i] = int32_t(i % 5);
    w.targets[i] = i % 5 == 4 ? -1 : int32_t((i + 1) % 60);
  }
  save_windows(d.path + "/windows.safetensors", w);
  write_file_atomic(d.path + "/signal.json", meta.to_json().dump());
  std::vector<int32_t> all_ids;
  std::vector<float> all_lp, all_lt;
  random_signal(int(meta.num_windows) * meta.T, meta.teacher_vocab, meta.k, 3, all_ids, all_lp,
                all_lt);
  Manifest m;
  m.kind = "signal";
  m.add_file(d.path, "windows.safetensors");
  m.add_file(d.path, "signal.json");
  for (int64_t s = 0; s < meta.num_shards(); ++s) {
    SignalShardInfo info;
    info.k = meta.k;
    info.vocab = meta.teacher_vocab;
    int64_t rows = std::min<int64_t>(3, meta.num_windows - s * 3);
    info.positions = rows * meta.T;
    size_t off = size_t(s) * 3 * size_t(meta.T);
    write_signal_shard(d.path + "/" + meta.shard_name(s), info, &all_ids[off * 4], &all_lp[off * 4],
                       &all_lt[off]);
    m.add_file(d.path, meta.shard_name(s));
  }
  m.write(d.path);

  SignalDir sig(d.path);
  Batch b;
  TeacherBuffers t;
  sig.fill({6, 1}, b, t);
  ASSERT_EQ(b.B, 2);
  EXPECT_EQ(b.tokens[0], w.tokens[30]);
  EXPECT_EQ(b.targets[4], -1);
  // Window 6 is the first of shard 2; window 1 the second of shard 0.
  std::vector<int32_t> ref_ids(5 * 4);
  std::vector<float> ref_lp(5 * 4), ref_lt(5);
  SignalShard(d.path + "/" + meta.shard_name(2))
      .read(0, 5, ref_ids.data(), ref_lp.data(), ref_lt.data());
  for (int i = 0; i < 20; ++i) EXPECT_EQ(t.ids[size_t(i)], ref_ids[size_t(i)]);
  SignalShard(d.path + "/" + meta.shard_name(0))
      .read(5, 5, ref_ids.data(), ref_lp.data(), ref_lt.data());
  for (int i = 0; i < 20; ++i) EXPECT_EQ(t.logp[size_t(20 + i)], ref_lp[size_t(i)]);
  EXPECT_EQ(t.ids[20], all_ids[20]);

  // A damaged shard is named when the signal is opened.
  std::string bytes = read_file(d.path + "/" + meta.shard_name(1));
  bytes[bytes.size() / 2] ^= 0x40;
  write_file_atomic(d.path + "/" + meta.shard_name(1), bytes);
  try {
    SignalDir bad(d.path);
    FAIL() << "damage not detected";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("shard-00001.sig"), std::string::npos) << e.what();
  }
}

}  // namespace still
