// Export -> load round trips at the tensor level for every model flavour (MHA/GQA, tied/untied,
// Llama/Mistral/Qwen2/Qwen3, rope scaling), in every dtype, HF and GGUF; Q/K permutation
// checked against its definition; per-tensor fallbacks; tokenizer metadata.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <set>
#include <tuple>

#include "formats_fixtures.h"
#include "still/formats/gguf.h"
#include "still/formats/hf_model.h"
#include "still/formats/quant.h"
#include "still/io/atomic_file.h"
#include "still/modelio/export.h"
#include "still/modelio/gguf_llama.h"
#include "still/modelio/load.h"
#include "still/util/error.h"
#include "test_helpers.h"

namespace still {
namespace {

using fixtures::flavours;
using fixtures::random_params;

// Checks loaded params against the originals: exact for f32, else within the dtype's error.
void expect_close(const LlamaConfig& c, const std::vector<float>& want,
                  const std::vector<float>& got, const std::string& dtype, bool gguf) {
  ParamLayout layout(c);
  for (auto& t : layout.tensors()) {
    bool f32 = dtype == "f32" || (gguf && t.shape.size() == 1);
    double amax = 0;
    for (size_t i = 0; i < t.numel; ++i)
      amax = std::max(amax, double(std::fabs(want[t.offset + i])));
    double tol = f32               ? 0
                 : dtype == "f16"  ? amax / 1024
                 : dtype == "bf16" ? amax / 128
                 : dtype == "q8_0" ? amax / 127
                                   : amax / 7;
    for (size_t i = 0; i < t.numel; ++i) {
      double d = std::fabs(double(want[t.offset + i]) - got[t.offset + i]);
      ASSERT_LE(d, tol) << t.name << "[" << i << "] dtype " << dtype;
    }
  }
}

void expect_same_config(const LlamaConfig& a, const LlamaConfig& b, bool gguf = false) {
  // GGUF has one "llama" architecture for Llama and Mistral.
  if (gguf && a.architecture == "MistralForCausalLM")
    EXPECT_EQ(b.architecture, "LlamaForCausalLM");
  else
    EXPECT_EQ(a.architecture, b.architecture);
  EXPECT_EQ(a.dim, b.dim);
  EXPECT_EQ(a.n_layers, b.n_layers);
  EXPECT_EQ(a.n_heads, b.n_heads);
  EXPECT_EQ(a.n_kv_heads, b.n_kv_heads);
  EXPECT_EQ(a.head_dim, b.head_dim);
  EXPECT_EQ(a.ffn_dim, b.ffn_dim);
  EXPECT_EQ(a.vocab_size, b.vocab_size);
  EXPECT_EQ(a.max_seq, b.max_seq);
  EXPECT_FLOAT_EQ(a.rope_theta, b.rope_theta);
  EXPECT_FLOAT_EQ(a.norm_eps, b.norm_eps);
  EXPECT_EQ(a.tied_embeddings, b.tied_embeddings);
  EXPECT_EQ(a.qkv_bias, b.qkv_bias);
  EXPECT_EQ(a.qk_norm, b.qk_norm);
  if (a.rope_scaling.is_null()) {
    EXPECT_TRUE(b.rope_scaling.is_null()) << b.rope_scaling.dump();
    return;
  }
  ASSERT_TRUE(b.rope_scaling.is_object()) << b.rope_scaling.dump();
  EXPECT_EQ(a.rope_scaling.value("rope_type", ""), b.rope_scaling.value("rope_type", ""));
  EXPECT_NEAR(a.rope_scaling.value("factor", 0.0), b.rope_scaling.value("factor", 0.0), 1e-6);
  // With few head dimensions the llama3 ramp parameters are not unique; the frequencies
  // they produce must be.
  auto fa = gguf_rope_freqs(a), fb = gguf_rope_freqs(b);
  ASSERT_EQ(fa.size(), fb.size());
  for (size_t i = 0; i < fa.size(); ++i) EXPECT_NEAR(fa[i], fb[i], 1e-4 * fa[i]) << i;
}

TEST(ExportRoundTrip, HfEveryFlavourAndDtype) {
  for (auto& [name, c] : flavours()) {
    auto params = random_params(c, 1);
    for (std::string dtype : {"f32", "f16", "bf16"}) {
      SCOPED_TRACE(name + " " + dtype);
      TempDir dir;
      std::string out = dir.path + "/hf";
      ExportOptions o;
      o.dtype = dtype;
      export_hf(c, params.data(), out, o);
      EXPECT_TRUE(file_exists(out + "/config.json"));
      EXPECT_TRUE(file_exists(out + "/tokenizer.json"));
      LlamaConfig back = read_model_config(out);
      expect_same_config(c, back);
      std::vector<float> got(ParamLayout(back).total(), -1.0f);
      load_params(out, back, got.data());
      expect_close(c, params, got, dtype, false);
      // A tied model has no lm_head in the file, as Hugging Face writes it.
      HfModelFolder f(out);
      EXPECT_EQ(f.find("lm_head.weight") == nullptr, c.tied_embeddings);
    }
  }
}

TEST(ExportRoundTrip, GgufEveryFlavourAndDtype) {
  for (auto& [name, c] : flavours()) {
    auto params = random_params(c, 2);
    for (std::string dtype : {"f32", "f16", "bf16", "q8_0", "q4_0"}) {
      SCOPED_TRACE(name + " " + dtype);
      TempDir dir;
      std::string out = dir.path + "/m.gguf";
      ExportOptions o;
      o.dtype = dtype;
      auto rep = export_gguf(c, params.data(), out, o);
      // ffn_dim 96 is a multiple of 32, so nothing falls back here.
      EXPECT_TRUE(rep.fallbacks.empty());
      GgufFile g(out);
      EXPECT_EQ(g.find_tensor("output.weight") == nullptr, c.tied_embeddings);
      EXPECT_EQ(g.find_tensor("rope_freqs.weight") != nullptr,
                c.rope_scaling.is_object() && c.rope_scaling.value("rope_type", "") == "llama3");
      LlamaConfig back = read_model_config(out);
      expect_same_config(c, back, true);
      std::vector<float> got(ParamLayout(back).total(), -1.0f);
      load_params(out, back, got.data());
      expect_close(c, params, got, dtype, true);
    }
  }
}

TEST(ExportRoundTrip, Llama31RopeScalingIsRecoveredExactlyFromRopeFreqs) {
  LlamaConfig c = fixtures::base_config();
  c.dim = 128;
  c.n_heads = 1;
  c.n_kv_heads = 1;
  c.head_dim = 128;  // Llama 3.1's head size: its ramp spans many dimensions
  c.rope_theta = 500000.0f;
  c.rope_scaling = {{"rope_type", "llama3"},
                    {"factor", 8.0},
                    {"low_freq_factor", 1.0},
                    {"high_freq_factor", 4.0},
                    {"original_max_position_embeddings", 8192}};
  auto params = random_params(c, 11);
  TempDir dir;
  export_gguf(c, params.data(), dir.path + "/m.gguf", ExportOptions{});
  LlamaConfig back = read_model_config(dir.path + "/m.gguf");
  for (auto k :
       {"factor", "low_freq_factor", "high_freq_factor", "original_max_position_embeddings"})
    EXPECT_NEAR(back.rope_scaling[k].get<double>(), c.rope_scaling[k].get<double>(), 1e-3) << k;
}

TEST(ExportRoundTrip, GgufLlamaPermutesQAndKByTheirOwnHeadCounts) {
  LlamaConfig c = flavours()[1].config;  // GQA: 4 query heads, 2 KV heads
  ASSERT_NE(c.n_heads, c.n_kv_heads);
  auto params = random_params(c, 3);
  TempDir dir;
  std::string out = dir.path + "/m.gguf";
  export_gguf(c, params.data(), out, ExportOptions{});
  GgufFile g(out);
  ParamLayout layout(c);
  const int hd = c.head_dim;
  for (auto [hf, gg, heads] :
       {std::tuple{"model.layers.1.self_attn.q_proj.weight", "blk.1.attn_q.weight", c.n_heads},
        std::tuple{"model.layers.1.self_attn.k_proj.weight", "blk.1.attn_k.weight",
                   c.n_kv_heads}}) {
    const float* src = params.data() + layout.find(hf)->offset;
    const float* dst = reinterpret_cast<const float*>(g.tensor_data(g.tensor(gg)));
    // llama.cpp's rows: within each head, row 2i+j holds HF row j*hd/2+i.
    for (int h = 0; h < heads; ++h)
      for (int i = 0; i < hd / 2; ++i)
        for (int j = 0; j < 2; ++j)
          ASSERT_EQ(
              0, std::memcmp(dst + (int64_t(h) * hd + 2 * i + j) * c.dim,
                             src + (int64_t(h) * hd + j * hd / 2 + i) * c.dim, size_t(c.dim) * 4))
              << gg << " head " << h << " i " << i << " j " << j;
  }
  // Qwen GGUFs keep HF order.
  LlamaConfig q = flavours()[3].config;
  auto qp = random_params(q, 4);
  export_gguf(q, qp.data(), out, ExportOptions{});
  GgufFile gq(out);
  ParamLayout ql(q);
  EXPECT_EQ(0, std::memcmp(gq.tensor_data(gq.tensor("blk.0.attn_q.weight")),
                           qp.data() + ql.find("model.layers.0.self_attn.q_proj.weight")->offset,
                           size_t(q.q_dim()) * q.dim * 4));
}

TEST(ExportRoundTrip, Q8_0FallsBackPerTensorAndSaysSo) {
  LlamaConfig c = fixtures::base_config();
  c.ffn_dim = 100;  // down_proj rows (ggml ne0) of 100 cannot be Q8_0
  auto params = random_params(c, 5);
  TempDir dir;
  ExportOptions o;
  o.dtype = "q8_0";
  auto rep = export_gguf(c, params.data(), dir.path + "/m.gguf", o);
  ASSERT_EQ(rep.fallbacks.size(), size_t(c.n_layers));
  EXPECT_NE(rep.fallbacks[0].find("model.layers.0.mlp.down_proj.weight: wanted q8_0, wrote f16"),
            std::string::npos)
      << rep.fallbacks[0];
  GgufFile g(dir.path + "/m.gguf");
  EXPECT_EQ(g.tensor("blk.0.ffn_down.weight").type, GgmlType::kF16);
  EXPECT_EQ(g.tensor("blk.0.ffn_up.weight").type, GgmlType::kQ8_0);
  EXPECT_EQ(g.tensor("blk.0.attn_norm.weight").type, GgmlType::kF32);
  EXPECT_EQ(g.get_int("general.file_type"), 7);
  // f16 that would overflow falls back to f32.
  params[ParamLayout(c).find("model.layers.0.mlp.up_proj.weight")->offset] = 1e6f;
  o.dtype = "f16";
  rep = export_hf(c, params.data(), dir.path + "/hf", o);
  ASSERT_EQ(rep.fallbacks.size(), 1u);
  EXPECT_NE(rep.fallbacks[0].find("exceed f16"), std::string::npos);
  std::vector<float> got(ParamLayout(c).total());
  load_params(dir.path + "/hf", read_model_config(dir.path + "/hf"), got.data());
  EXPECT_EQ(got[ParamLayout(c).find("model.layers.0.mlp.up_proj.weight")->offset], 1e6f);
  o.dtype = "q8_0";
  EXPECT_THROW(export_hf(c, params.data(), dir.path + "/hf2", o), Error);
}

TEST(ExportRoundTrip, ByteTokenizerBecomesAVocabLlamaCppAccepts) {
  LlamaConfig c = fixtures::base_config();  // vocab 288: 256 bytes + 32 spare rows
  auto params = random_params(c, 6);
  TempDir dir;
  export_gguf(c, params.data(), dir.path + "/m.gguf", ExportOptions{});
  GgufFile g(dir.path + "/m.gguf");
  EXPECT_EQ(g.get_string("tokenizer.ggml.model"), "gpt2");
  auto tokens = g.get_strings("tokenizer.ggml.tokens");
  ASSERT_EQ(tokens.size(), 288u);
  EXPECT_EQ(tokens['a'], "a");
  EXPECT_EQ(tokens[' '], "\xc4\xa0");   // U+0120 'Ġ'
  EXPECT_EQ(tokens['\n'], "\xc4\x8a");  // U+010A 'Ċ'
  EXPECT_EQ(tokens[0], "\xc4\x80");     // U+0100
  EXPECT_EQ(tokens[256], "<|endoftext|>");
  EXPECT_EQ(g.get_strings("tokenizer.ggml.merges").size(), 0u);
  EXPECT_EQ(g.get_int("tokenizer.ggml.eos_token_id"), 256);
  EXPECT_FALSE(g.get_bool("tokenizer.ggml.add_bos_token"));
  // All 256 spellings are distinct.
  std::set<std::string> distinct(tokens.begin(), tokens.begin() + 256);
  EXPECT_EQ(distinct.size(), 256u);
}

TEST(ExportRoundTrip, GgufToGgufCopiesTheTokenizer) {
  LlamaConfig c = fixtures::base_config();
  auto params = random_params(c, 7);
  TempDir dir;
  export_gguf(c, params.data(), dir.path + "/a.gguf", ExportOptions{});
  ExportOptions o;
  o.tokenizer_source = dir.path + "/a.gguf";
  o.dtype = "q8_0";
  auto rep = export_gguf(c, params.data(), dir.path + "/b.gguf", o);
  EXPECT_NE(rep.tokenizer.find("copied"), std::string::npos);
  GgufFile a(dir.path + "/a.gguf"), b(dir.path + "/b.gguf");
  EXPECT_EQ(a.get_strings("tokenizer.ggml.tokens"), b.get_strings("tokenizer.ggml.tokens"));
}

TEST(HfModel, ShardedFoldersLoadAndBadIndexesAreNamed) {
  LlamaConfig c = flavours()[0].config;
  auto params = random_params(c, 8);
  TempDir dir;
  std::string out = dir.path + "/hf";
  ExportOptions o;
  o.max_shard_bytes = 40000;  // forces several shards
  export_hf(c, params.data(), out, o);
  ASSERT_TRUE(file_exists(out + "/model.safetensors.index.json"));
  EXPECT_FALSE(file_exists(out + "/model.safetensors"));
  HfModelFolder f(out);
  EXPECT_GT(f.files().size(), 2u);
  std::vector<float> got(ParamLayout(c).total());
  load_params(out, read_model_config(out), got.data());
  expect_close(c, params, got, "f32", false);

  auto expect_error = [&](const std::string& index, const std::string& needle) {
    write_file_atomic(out + "/model.safetensors.index.json", index);
    try {
      HfModelFolder bad(out);
      ADD_FAILURE() << "accepted " << index;
    } catch (const Error& e) {
      std::string m = e.what();
      EXPECT_NE(m.find(needle), std::string::npos) << m;
      EXPECT_EQ(m.find('\n'), std::string::npos);
    }
  };
  std::string shard1 = f.files()[0]->path().substr(out.size() + 1);
  expect_error("{\"weight_map\": {\"x\": \"../../etc/passwd\"}}", "not a plain file name");
  expect_error("{\"weight_map\": {\"x\": \"missing.safetensors\"}}", "missing");
  expect_error("{\"weight_map\": {\"model.norm.weight\": \"" + shard1 + "\"}}", "does not hold it");
  expect_error("[1, 2]", "not a JSON object");
  expect_error("{\"weight_map\": {}}", "empty");
  expect_error("{\"weight_map\": {\"x\": 3}}", "not a file name");
}

TEST(HfModel, ConfigAndTensorMismatchesAreNamed) {
  LlamaConfig c = flavours()[0].config;
  auto params = random_params(c, 9);
  TempDir dir;
  std::string out = dir.path + "/hf";
  export_hf(c, params.data(), out, ExportOptions{});
  // A config whose ffn size disagrees with the weights.
  auto j = nlohmann::json::parse(read_file(out + "/config.json"));
  j["intermediate_size"] = 128;
  write_file_atomic(out + "/config.json", j.dump());
  LlamaConfig wrong = read_model_config(out);
  std::vector<float> got(ParamLayout(wrong).total());
  try {
    load_params(out, wrong, got.data());
    FAIL();
  } catch (const Error& e) {
    std::string m = e.what();
    EXPECT_NE(m.find("model.layers.0.mlp.gate_proj.weight' has shape [96, 64]"), std::string::npos)
        << m;
    EXPECT_NE(m.find("model.safetensors"), std::string::npos) << m;
  }
  EXPECT_THROW(read_model_config(dir.path + "/nothing"), Error);
  make_dirs(dir.path + "/empty");
  try {
    read_model_config(dir.path + "/empty");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("is not a model"), std::string::npos) << e.what();
  }
}

TEST(HfModel, RunDirectoryResolvesToItsLatestCheckpoint) {
  LlamaConfig c = flavours()[0].config;
  auto params = random_params(c, 10);
  TempDir dir;
  std::string ck = dir.path + "/run/checkpoints/step-0000007";
  export_hf(c, params.data(), ck, ExportOptions{});
  write_file_atomic(dir.path + "/run/latest", "step-0000007\n");
  auto loc = locate_model(dir.path + "/run");
  EXPECT_EQ(loc.path, ck);
  EXPECT_EQ(loc.format, ModelFormat::kHfFolder);
}

}  // namespace
}  // namespace still
