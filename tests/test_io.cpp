#include <gtest/gtest.h>
#include <sys/resource.h>

#include <filesystem>

#include "still/data/manifest.h"
#include "still/formats/safetensors.h"
#include "still/io/atomic_file.h"
#include "still/model/config.h"
#include "still/util/error.h"
#include "still/util/sha256.h"
#include "test_helpers.h"

namespace still {

TEST(AtomicFile, WritesAndReplaces) {
  TempDir d;
  std::string p = d.path + "/a.txt";
  write_file_atomic(p, "one");
  EXPECT_EQ(read_file(p), "one");
  write_file_atomic(p, "two");
  EXPECT_EQ(read_file(p), "two");
  // No temp files left behind.
  int n = 0;
  for (auto& e : std::filesystem::directory_iterator(d.path)) (void)e, ++n;
  EXPECT_EQ(n, 1);
}

TEST(AtomicFile, AbandonedWriterKeepsOldFile) {
  TempDir d;
  std::string p = d.path + "/a.txt";
  write_file_atomic(p, "old");
  {
    AtomicWriter w(p);
    w.write("new but unfinished");
  }  // no commit
  EXPECT_EQ(read_file(p), "old");
}

TEST(AtomicFile, FullDiskIsAClearErrorAndKeepsOldFile) {
  TempDir d;
  std::string p = d.path + "/big.bin";
  write_file_atomic(p, "old");
  rlimit old{};
  getrlimit(RLIMIT_FSIZE, &old);
  rlimit lim = old;
  lim.rlim_cur = 4096;  // the kernel refuses writes past 4 KiB: EFBIG, like a full disk
  ASSERT_EQ(setrlimit(RLIMIT_FSIZE, &lim), 0);
  std::string msg;
  try {
    AtomicWriter w(p);
    std::string chunk(1 << 16, 'x');
    w.write(chunk);
    w.commit();
  } catch (const Error& e) {
    msg = e.what();
  }
  setrlimit(RLIMIT_FSIZE, &old);
  EXPECT_NE(msg.find("disk full"), std::string::npos) << msg;
  EXPECT_EQ(read_file(p), "old");
}

TEST(Manifest, RecordsHashesAndDetectsDamage) {
  TempDir d;
  write_file_atomic(d.path + "/w.bin", "weights");
  Manifest m;
  m.kind = "checkpoint";
  m.command = {"still", "train"};
  m.add_file(d.path, "w.bin");
  m.compute.tokens = 123;
  m.write(d.path);
  Manifest back = Manifest::load(d.path);
  EXPECT_EQ(back.kind, "checkpoint");
  ASSERT_EQ(back.files().size(), 1u);
  EXPECT_EQ(back.files()[0].sha256, sha256_hex("weights"));
  EXPECT_EQ(back.compute.tokens, 123);
  EXPECT_NO_THROW(back.verify(d.path));
  write_file_atomic(d.path + "/w.bin", "weightz");
  try {
    back.verify(d.path);
    FAIL() << "damage not detected";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("w.bin"), std::string::npos);
  }
}

TEST(Manifest, EmbedsInputManifestForLineage) {
  TempDir d;
  std::string in = d.path + "/parent";
  make_dirs(in);
  Manifest parent;
  parent.kind = "corpus";
  parent.write(in);
  Manifest child;
  child.kind = "checkpoint";
  child.add_input("data", in);
  ASSERT_EQ(child.inputs.size(), 1u);
  EXPECT_EQ(child.inputs[0].manifest["kind"], "corpus");
  EXPECT_EQ(child.inputs[0].sha256.size(), 64u);
}

TEST(Config, PresetsAndValidation) {
  auto c = LlamaConfig::preset("stories15m");
  EXPECT_EQ(c.dim, 288);
  EXPECT_EQ(c.n_layers, 6);
  EXPECT_EQ(c.vocab_size, 32000);
  EXPECT_EQ(c.max_seq, 256);
  auto s = LlamaConfig::preset("small");
  EXPECT_EQ(s.dim, 512);
  EXPECT_EQ(s.vocab_size, 8192);
  EXPECT_THROW(LlamaConfig::preset("nope"), Error);
  nlohmann::json j = {{"dim", 100},    {"n_layers", 1},    {"n_heads", 3},
                      {"ffn_dim", 10}, {"vocab_size", 10}, {"max_seq", 8}};
  try {
    LlamaConfig::from_json(j);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("not divisible"), std::string::npos);
  }
}

TEST(Config, HfJsonRoundTrip) {
  LlamaConfig c = LlamaConfig::preset("tiny");
  c.qkv_bias = true;
  c.rope_theta = 500000;
  auto back = LlamaConfig::from_json(c.to_hf_json());
  EXPECT_TRUE(back == c);
}

namespace {

// A small valid HF Llama config.json with `patch` applied over it.
nlohmann::json hf_config(const nlohmann::json& patch) {
  nlohmann::json j = {{"architectures", {"LlamaForCausalLM"}},
                      {"hidden_size", 64},
                      {"num_hidden_layers", 2},
                      {"num_attention_heads", 4},
                      {"intermediate_size", 172},
                      {"vocab_size", 256},
                      {"max_position_embeddings", 128}};
  if (patch.is_object()) j.merge_patch(patch);  // `{}` arrives as null: no patch
  return j;
}

// The one-line error of from_json on `patch`; fails the test when it is accepted.
std::string config_error(const nlohmann::json& patch) {
  std::string e = error_of([&] { LlamaConfig::from_json(hf_config(patch)); });
  EXPECT_FALSE(e.empty()) << "accepted: " << patch.dump();
  EXPECT_EQ(e.find('\n'), std::string::npos) << e;
  return e;
}

}  // namespace

// Numbers out of range, floats where integers go, negatives: one-line errors, never an
// undefined conversion (fuzz_config found 1e30 in an integer field).
TEST(Config, RangeChecksNumbersBeforeConversion) {
  EXPECT_NO_THROW(LlamaConfig::from_json(hf_config({})));
  EXPECT_NE(config_error({{"hidden_size", 1e30}}).find("hidden_size must be an integer"),
            std::string::npos);
  EXPECT_NE(config_error({{"num_hidden_layers", 2.5}}).find("must be an integer"),
            std::string::npos);
  EXPECT_NE(config_error({{"vocab_size", 4294967296LL}})
                .find("vocab_size = 4294967296 is out of "
                      "range"),
            std::string::npos);
  EXPECT_NE(config_error({{"intermediate_size", 18446744073709551615ULL}}).find("out of range"),
            std::string::npos);
  EXPECT_NE(config_error({{"num_attention_heads", -4}}).find("must be positive"),
            std::string::npos);
  EXPECT_NE(config_error({{"eos_token_id", -2}}).find("eos_token_id must not be negative"),
            std::string::npos);
  EXPECT_NE(config_error({{"bos_token_id", {1e300}}}).find("bos_token_id must be an integer"),
            std::string::npos);
  EXPECT_NE(config_error({{"rope_theta", 1e300}}).find("rope_theta = 1e+300 is out of range"),
            std::string::npos);
  EXPECT_NE(config_error({{"rms_norm_eps", "small"}}).find("rms_norm_eps must be a number"),
            std::string::npos);
  EXPECT_NE(config_error({{"tie_word_embeddings", 1}}).find("must be true or false"),
            std::string::npos);
}

// HF fields that change the math and are not implemented are refused, never ignored.
TEST(Config, RefusesHfFieldsThatAreNotImplemented) {
  EXPECT_NE(config_error({{"hidden_act", "gelu"}}).find("hidden_act \"gelu\" is not supported"),
            std::string::npos);
  EXPECT_NO_THROW(LlamaConfig::from_json(hf_config({{"hidden_act", "swish"}})));
  EXPECT_NE(config_error({{"architectures", {"MistralForCausalLM"}}, {"sliding_window", 64}})
                .find("sliding_window 64 is smaller than the 128 positions"),
            std::string::npos);
  // A window that covers every position, or one switched off (Qwen2), changes nothing.
  EXPECT_NO_THROW(LlamaConfig::from_json(hf_config({{"sliding_window", 128}})));
  EXPECT_NO_THROW(
      LlamaConfig::from_json(hf_config({{"sliding_window", 32}, {"use_sliding_window", false}})));
  EXPECT_NE(config_error({{"layer_types", {"full_attention", "sliding_attention"}}})
                .find("sliding_attention"),
            std::string::npos);
  EXPECT_NE(config_error({{"attention_bias", true}}).find("attention_bias"), std::string::npos);
  EXPECT_NO_THROW(LlamaConfig::from_json(
      hf_config({{"architectures", {"Qwen2ForCausalLM"}}, {"attention_bias", true}})));
  EXPECT_NE(config_error({{"mlp_bias", true}}).find("mlp_bias"), std::string::npos);
  EXPECT_NE(config_error({{"partial_rotary_factor", 0.5}}).find("partial_rotary_factor 0.5"),
            std::string::npos);
  EXPECT_NO_THROW(LlamaConfig::from_json(hf_config({{"partial_rotary_factor", 1.0}})));
  EXPECT_NE(config_error({{"rope_scaling", {{"rope_type", "yarn"}, {"factor", 4.0}}}})
                .find("rope_scaling type 'yarn' is not implemented"),
            std::string::npos);
  EXPECT_NO_THROW(
      LlamaConfig::from_json(hf_config({{"rope_scaling", {{"type", "linear"}, {"factor", 2.0}}}})));
}

TEST(Safetensors, WriteReadAndRejectLies) {
  TempDir d;
  std::string p = d.path + "/m.safetensors";
  std::vector<float> a = {1, 2, 3, 4, 5, 6};
  std::vector<uint16_t> b = {f32_to_bf16(1.5f), f32_to_bf16(-2.0f)};
  write_safetensors(p, {{"a", DType::kF32, {2, 3}, a.data()}, {"b", DType::kBF16, {2}, b.data()}},
                    {{"format", "pt"}});
  SafetensorsFile f(p);
  ASSERT_EQ(f.tensors().size(), 2u);
  EXPECT_EQ(f.metadata().at("format"), "pt");
  std::vector<float> out(6);
  f.read_f32("a", out.data(), 6);
  EXPECT_EQ(out, a);
  f.read_f32("b", out.data(), 2);
  EXPECT_EQ(out[0], 1.5f);
  EXPECT_EQ(out[1], -2.0f);
  EXPECT_THROW(f.read_f32("a", out.data(), 5), Error);

  // Truncation is caught, naming the file.
  std::string bytes = read_file(p);
  write_file_atomic(p, bytes.substr(0, bytes.size() - 3));
  try {
    SafetensorsFile g(p);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(p), std::string::npos);
  }
  auto bad = [&](const std::string& header, size_t data_bytes) {
    std::string s(8, '\0');
    uint64_t n = header.size();
    for (int i = 0; i < 8; ++i) s[i] = char(n >> (8 * i));
    s += header + std::string(data_bytes, '\0');
    EXPECT_THROW(
        SafetensorsFile::parse_only(reinterpret_cast<const uint8_t*>(s.data()), s.size(), "x"),
        Error)
        << header;
  };
  bad(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,4]}})", 4);  // size lie
  bad(R"({"a":{"dtype":"Q9","shape":[1],"data_offsets":[0,4]}})", 4);   // dtype
  bad(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})", 8);  // gap
  bad(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})",
      8);  // overlap
  bad(R"({"a":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}})", 4);
  bad(R"([1,2])", 0);
  bad(R"({"a":{"dtype":"F32","shape":[1099511627776,1099511627776],"data_offsets":[0,4]}})", 4);
}

}  // namespace still
