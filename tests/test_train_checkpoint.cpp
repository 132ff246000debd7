// Checkpoint directories: bitwise round trip, retention, damage detection, full disk.
#include <gtest/gtest.h>
#include <sys/resource.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <functional>

#include "still/io/atomic_file.h"
#include "still/modelio/checkpoint.h"
#include "still/modelio/weights_io.h"
#include "still/util/error.h"
#include "still/util/rng.h"
#include "test_helpers.h"

namespace still::train {
namespace fs = std::filesystem;
namespace {

struct Fixture {
  LlamaConfig config = LlamaConfig::preset("tiny");
  ParamLayout layout{config};
  std::vector<float> params, m, v;
  ByteTokenizer tok;
  explicit Fixture(uint64_t seed) {
    Rng r(seed);
    for (auto* buf : {&params, &m, &v}) {
      buf->resize(layout.total());
      for (auto& x : *buf) x = float(r.normal());
    }
  }
  CheckpointContents contents(int64_t step) const {
    CheckpointContents c;
    c.step = step;
    c.config = &config;
    c.layout = &layout;
    c.params = params.data();
    c.adam_m = m.data();
    c.adam_v = v.data();
    c.adam_step = step;
    c.trainer_state = {{"step", step}, {"rng", {1ull, 2ull, 0xffffffffffffffffull, 4ull}}};
    c.tokenizer_info = {{"kind", tok.kind()}, {"fingerprint", tok.fingerprint()}};
    c.manifest.command = {"still", "train"};
    return c;
  }
};

std::vector<std::string> names_in(const std::string& dir) {
  std::vector<std::string> out;
  for (auto& e : fs::directory_iterator(dir)) out.push_back(e.path().filename().string());
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace

TEST(TrainCheckpoint, RoundTripIsBitwise) {
  TempDir d;
  Fixture f(1);
  std::string dir = save_checkpoint(d.path, f.contents(7));
  EXPECT_EQ(dir, d.path + "/checkpoints/step-0000007");
  EXPECT_EQ(read_file(d.path + "/latest"), "step-0000007\n");
  EXPECT_EQ(resolve_checkpoint(d.path), dir);
  EXPECT_EQ(resolve_checkpoint(dir), dir);

  CheckpointInfo ck = open_checkpoint(dir, /*verify=*/true);
  EXPECT_EQ(ck.step(), 7);
  EXPECT_TRUE(ck.config == f.config);
  EXPECT_EQ(ck.trainer_state["rng"][2].get<uint64_t>(), 0xffffffffffffffffull);
  EXPECT_EQ(ck.manifest.kind, "checkpoint");
  EXPECT_EQ(ck.manifest.files().size(), 5u);
  std::vector<float> p(f.layout.total(), 0), m(p), v(p);
  load_checkpoint_weights(ck, f.layout, p.data());
  EXPECT_EQ(load_checkpoint_optimizer(ck, f.layout, m.data(), v.data()), 7);
  EXPECT_EQ(std::memcmp(p.data(), f.params.data(), p.size() * 4), 0);
  EXPECT_EQ(std::memcmp(m.data(), f.m.data(), m.size() * 4), 0);
  EXPECT_EQ(std::memcmp(v.data(), f.v.data(), v.size() * 4), 0);
  EXPECT_EQ(load_checkpoint_tokenizer(ck)->kind(), "bytes");
}

TEST(TrainCheckpoint, KeepsTheTwoNewestAndNoTemps) {
  TempDir d;
  Fixture f(2);
  for (int64_t s : {10, 20, 30}) save_checkpoint(d.path, f.contents(s));
  EXPECT_EQ(names_in(d.path + "/checkpoints"),
            (std::vector<std::string>{"step-0000020", "step-0000030"}));
  EXPECT_EQ(newest_checkpoint(d.path), d.path + "/checkpoints/step-0000030");
  // A temp directory left by a killed save is cleaned up and never taken for a checkpoint.
  make_dirs(d.path + "/checkpoints/.tmp-step-0000040-123");
  EXPECT_EQ(newest_checkpoint(d.path), d.path + "/checkpoints/step-0000030");
  remove_stale_temps(d.path);
  EXPECT_EQ(names_in(d.path + "/checkpoints").size(), 2u);
  // `latest` naming a deleted checkpoint falls back to the newest that exists.
  remove_tree(d.path + "/checkpoints/step-0000030");
  EXPECT_EQ(resolve_checkpoint(d.path), d.path + "/checkpoints/step-0000020");
}

TEST(TrainCheckpoint, DamageIsReportedNamingTheFile) {
  TempDir d;
  Fixture f(3);
  std::string dir = save_checkpoint(d.path, f.contents(5));
  // One flipped bit in the weights.
  std::string w = read_file(dir + "/model.safetensors");
  w[w.size() / 2] ^= 1;
  write_file_atomic(dir + "/model.safetensors", w);
  std::string msg = error_of([&] { open_checkpoint(dir, true); });
  EXPECT_NE(msg.find("model.safetensors"), std::string::npos) << msg;
  EXPECT_NE(msg.find("damaged"), std::string::npos) << msg;
  // Truncated optimizer state: caught by the manifest, and by the reader on its own.
  std::string dir2 = save_checkpoint(d.path, f.contents(6));
  std::string o = read_file(dir2 + "/optimizer.safetensors");
  write_file_atomic(dir2 + "/optimizer.safetensors", o.substr(0, o.size() / 2));
  msg = error_of([&] { open_checkpoint(dir2, true); });
  EXPECT_NE(msg.find("optimizer.safetensors"), std::string::npos) << msg;
  CheckpointInfo unverified = open_checkpoint(dir2, false);
  std::vector<float> m(f.layout.total()), v(m);
  msg = error_of([&] { load_checkpoint_optimizer(unverified, f.layout, m.data(), v.data()); });
  EXPECT_NE(msg.find("optimizer.safetensors"), std::string::npos) << msg;
  // No manifest: not a complete checkpoint.
  fs::remove(dir2 + "/manifest.json");
  msg = error_of([&] { open_checkpoint(dir2, true); });
  EXPECT_NE(msg.find("manifest.json is missing"), std::string::npos) << msg;
}

TEST(TrainCheckpoint, WeightsOfAnotherConfigAreRejected) {
  TempDir d;
  Fixture f(4);
  std::string p = d.path + "/model.safetensors";
  write_param_safetensors(p, f.layout, {{"", f.params.data()}});
  LlamaConfig other = f.config;
  other.ffn_dim = 100;
  ParamLayout ol(other);
  std::vector<float> buf(ol.total());
  std::string msg = error_of([&] { read_param_safetensors(p, ol, {{"", buf.data()}}); });
  EXPECT_NE(msg.find("mlp.gate_proj.weight"), std::string::npos) << msg;
  other = f.config;
  other.tied_embeddings = false;
  ParamLayout ul(other);
  buf.resize(ul.total());
  msg = error_of([&] { read_param_safetensors(p, ul, {{"", buf.data()}}); });
  EXPECT_NE(msg.find("lm_head.weight"), std::string::npos) << msg;
}

TEST(TrainCheckpoint, FullDiskKeepsThePreviousCheckpoint) {
  TempDir d;
  Fixture f(5);
  std::string first = save_checkpoint(d.path, f.contents(1));
  rlimit old{};
  getrlimit(RLIMIT_FSIZE, &old);
  rlimit lim = old;
  lim.rlim_cur = 64 * 1024;  // smaller than model.safetensors: like a disk that fills up
  ASSERT_EQ(setrlimit(RLIMIT_FSIZE, &lim), 0);
  std::string msg = error_of([&] { save_checkpoint(d.path, f.contents(2)); });
  setrlimit(RLIMIT_FSIZE, &old);
  EXPECT_NE(msg.find("disk full"), std::string::npos) << msg;
  EXPECT_EQ(names_in(d.path + "/checkpoints"), (std::vector<std::string>{"step-0000001"}));
  EXPECT_EQ(read_file(d.path + "/latest"), "step-0000001\n");
  EXPECT_NO_THROW(open_checkpoint(first, true));
}

}  // namespace still::train
