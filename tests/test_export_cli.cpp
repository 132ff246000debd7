// `still inspect` and `still export` end to end through the binary.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "formats_fixtures.h"
#include "still/formats/gguf.h"
#include "still/modelio/export.h"
#include "test_helpers.h"

namespace still {
namespace {

TEST(ExportCli, InspectAndExportAModelFolder) {
  auto flav = fixtures::flavours()[3];  // Qwen2, GQA, tied, qkv bias
  auto params = fixtures::random_params(flav.config, 1);
  TempDir dir;
  std::string hf = dir.path + "/hf";
  export_hf(flav.config, params.data(), hf, ExportOptions{});

  std::string out;
  ASSERT_EQ(run_command(still_bin() + " inspect --json " + hf, &out), 0) << out;
  auto j = nlohmann::json::parse(out);
  EXPECT_EQ(j["format"], "hf_folder");
  EXPECT_EQ(j["architecture"], "Qwen2ForCausalLM");
  EXPECT_EQ(j["parameters"].get<int64_t>(), flav.config.num_params());
  EXPECT_EQ(j["tokenizer"]["kind"], "BPE");
  EXPECT_EQ(j["config"]["num_key_value_heads"], 2);

  std::string gguf = dir.path + "/m.gguf";
  ASSERT_EQ(run_command(still_bin() + " export --model " + hf + " --format gguf --out " + gguf +
                            " --dtype q8_0 --json",
                        &out),
            0)
      << out;
  auto r = nlohmann::json::parse(out.substr(out.find('{')));
  EXPECT_EQ(r["path"], gguf);
  EXPECT_TRUE(r["fallbacks"].empty());
  // The HF folder's byte-level tokenizer.json became a gpt2 vocabulary.
  GgufFile g(gguf);
  EXPECT_EQ(g.architecture(), "qwen2");
  EXPECT_EQ(g.get_string("tokenizer.ggml.model"), "gpt2");
  EXPECT_EQ(g.get_strings("tokenizer.ggml.tokens").size(), size_t(flav.config.vocab_size));
  EXPECT_EQ(g.tensor("blk.0.attn_q.weight").type, GgmlType::kQ8_0);

  ASSERT_EQ(run_command(still_bin() + " inspect " + gguf, &out), 0) << out;
  EXPECT_NE(out.find("architecture: qwen2"), std::string::npos) << out;
  EXPECT_NE(out.find("tokenizer:    gpt2, 288 tokens"), std::string::npos) << out;
  EXPECT_NE(out.find("blk.1.ffn_down.weight  Q8_0  [96, 64]"), std::string::npos) << out;
  EXPECT_NE(out.find("general.architecture (string) = \"qwen2\""), std::string::npos) << out;

  // GGUF back to HF, bf16.
  std::string hf2 = dir.path + "/hf2";
  ASSERT_EQ(run_command(still_bin() + " export --model " + gguf + " --format hf --out " + hf2 +
                            " --dtype bf16",
                        &out),
            0)
      << out;
  ASSERT_EQ(run_command(still_bin() + " inspect --json " + hf2, &out), 0) << out;
  j = nlohmann::json::parse(out);
  EXPECT_EQ(j["tensors"][0]["dtype"], "BF16");
}

TEST(ExportCli, BadFilesGiveOneLineNamingTheFile) {
  TempDir dir;
  std::string bad = dir.path + "/bad.gguf";
  std::ofstream(bad) << "GGUF\x03\x00\x00\x00garbage";
  std::string out;
  EXPECT_EQ(run_command(still_bin() + " inspect " + bad, &out), 1);
  EXPECT_NE(out.find("still: error: " + bad + ": "), std::string::npos) << out;
  EXPECT_EQ(std::count(out.begin(), out.end(), '\n'), 1) << out;
  EXPECT_EQ(run_command(still_bin() + " export --model " + bad + " --format gguf --out " +
                            dir.path + "/x.gguf",
                        &out),
            1);
  EXPECT_NE(out.find(bad), std::string::npos) << out;
  EXPECT_EQ(run_command(still_bin() + " export --model " + bad + " --format onnx --out x", &out),
            2);
}

}  // namespace
}  // namespace still
