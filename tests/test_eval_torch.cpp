// Perplexity and multiple-choice scores of a real Llama checkpoint match an independent
// PyTorch computation (tests/torch_ref/eval_ref.py, float64) to 1e-4 relative; `still eval`
// reports the same numbers and refuses a tampered data file.
#include <gtest/gtest.h>

#include <cmath>
#include <nlohmann/json.hpp>

#include "still/eval/evaluate.h"
#include "still/eval/llama_scorer.h"
#include "still/io/atomic_file.h"
#include "still/modelio/checkpoint.h"
#include "still/modelio/export.h"
#include "still/modelio/open_model.h"
#include "still/util/error.h"
#include "still/util/rng.h"
#include "still/util/sha256.h"
#include "test_helpers.h"

namespace still::eval {
namespace {

const char* kText =
    "It was the best of times, it was the worst of times.\nIt was the age of wisdom.\n\n"
    "Call me Ishmael.\n\n"
    "In the beginning God created the heaven and the earth. And the earth was without form, "
    "and void; and darkness was upon the face of the deep.\n";

const char* kHellaSwag =
    "Roof shingle removal: A man is sitting on a roof. he\n3\nis using wrap to wrap skis.\n"
    "is ripping level tiles off.\nis holding a rubik's cube.\nstarts pulling up roofing.\n"
    "Family Life: How to play. Visit a site like [www.kiddio.org] to find  games.\n1\n"
    "Make sure [step] you go.\nTry arts and crafts.\nMake sure.\nIf you like  it.\n"
    "High jump: A boy is running down a track. the boy\n2\nruns into a car.\ngets in a mat.\n"
    "lifts his body above the height of a pole.\nstands on his hands and springs.\n";

// A GQA Llama (6 heads sharing 2 KV heads, untied head) with weights large enough that the
// endings' scores differ clearly; saved as a still checkpoint.
std::string make_checkpoint(const std::string& dir) {
  LlamaConfig c;
  c.dim = 48;
  c.n_layers = 2;
  c.n_heads = 6;
  c.n_kv_heads = 2;
  c.head_dim = 8;
  c.ffn_dim = 96;
  c.vocab_size = 256;
  c.max_seq = 64;  // shorter than some items: left truncation is exercised
  c.validate();
  LlamaModel m(c);
  m.init_random(11);
  for (auto& t : m.layout().tensors())
    if (t.name.find("norm") == std::string::npos)
      for (size_t i = 0; i < t.numel; ++i) m.params()[t.offset + i] *= 8.f;
  ByteTokenizer tok;
  train::CheckpointContents cc;
  cc.step = 1;
  cc.config = &m.config();
  cc.layout = &m.layout();
  cc.params = m.params();
  cc.tokenizer_info = {{"kind", "bytes"}, {"fingerprint", tok.fingerprint()}, {"vocab_size", 256}};
  cc.manifest.kind = "checkpoint";
  return train::save_checkpoint(dir, cc);
}

std::string write_suite(const std::string& dir, int window) {
  write_file_atomic(dir + "/text.txt", kText);
  write_file_atomic(dir + "/hs.txt", kHellaSwag);
  nlohmann::json j = {{"name", "mini"},
                      {"tasks",
                       {{{"name", "heldout"},
                         {"kind", "perplexity"},
                         {"path", "text.txt"},
                         {"sha256", sha256_hex(kText)},
                         {"window", window}},
                        {{"name", "hs"},
                         {"kind", "multiple_choice"},
                         {"path", "hs.txt"},
                         {"sha256", sha256_hex(kHellaSwag)}}}}};
  write_file_atomic(dir + "/suite.json", j.dump(2));
  return dir + "/suite.json";
}

void expect_rel(double got, double want, const std::string& what) {
  EXPECT_LE(std::fabs(got - want), 1e-4 * std::fabs(want)) << what << ": " << got << " vs " << want;
}

TEST(EvalTorch, PerplexityAndMultipleChoiceMatchPyTorch) {
  TempDir d;
  std::string ck = make_checkpoint(d.path + "/run");
  const int window = 24;  // shorter than the documents: windows split them
  Suite suite = load_suite(write_suite(d.path, window));

  OpenedModel m = open_model(d.path + "/run");
  LlamaScorer scorer(*m.model);
  Calibration calib;
  Agreement agree;
  TaskOptions opt;
  opt.batch_rows = 2;
  opt.mc_items = 2;
  auto ppl = score_perplexity(scorer, *m.tokenizer, suite.tasks[0], opt, nullptr, calib, agree);
  auto items = parse_hellaswag(suite.tasks[1].content, "hs.txt");
  auto mc = score_multiple_choice(scorer, *m.tokenizer, items, opt);

  std::string out;
  std::string cmd = "/usr/bin/python3 " + source_dir() + "/tests/torch_ref/eval_ref.py " + ck +
                    " " + d.path + "/text.txt " + std::to_string(window) + " " + d.path + "/hs.txt";
  ASSERT_EQ(run_command(cmd, &out), 0) << out;
  auto ref = nlohmann::json::parse(out.substr(out.find('{')));

  EXPECT_EQ(ppl.tokens, ref["tokens"].get<int64_t>());
  expect_rel(ppl.nats, ref["nats"].get<double>(), "perplexity nats");
  ASSERT_EQ(mc.items, 3);
  int64_t acc = 0, acc_norm = 0;
  for (size_t i = 0; i < 3; ++i) {
    for (size_t k = 0; k < 4; ++k)
      expect_rel(mc.logprobs[i][k], ref["mc"][i]["logprobs"][k].get<double>(),
                 "item " + std::to_string(i) + " ending " + std::to_string(k));
    acc += ref["mc"][i]["acc"].get<int>();
    acc_norm += ref["mc"][i]["acc_norm"].get<int>();
  }
  EXPECT_EQ(mc.correct, acc);
  EXPECT_EQ(mc.correct_norm, acc_norm);

  // The CLI reports the same numbers, with the suite hash and the model's identity; the
  // model against itself as teacher agrees perfectly.
  std::string cli;
  ASSERT_EQ(run_command(still_bin() + " eval --model " + d.path + "/run --teacher " + d.path +
                            "/run --suite " + d.path + "/suite.json --json --out " + d.path +
                            "/res.json --threads 1",
                        &cli),
            0)
      << cli;
  auto res = load_results(d.path + "/res.json");
  EXPECT_EQ(res["suite"]["hash"], suite.hash);
  ASSERT_EQ(res["models"].size(), 2u);
  EXPECT_EQ(res["models"][0]["role"], "teacher");
  // The same run twice keeps two distinct labels.
  EXPECT_NE(res["models"][0]["label"], res["models"][1]["label"]);
  const auto& r = res["models"][1];
  EXPECT_EQ(r["identity"], m.sha256);
  expect_rel(r["tasks"]["heldout"]["nats_per_token"].get<double>(),
             ref["nats"].get<double>() / ref["tokens"].get<double>(), "cli nats/token");
  EXPECT_EQ(r["tasks"]["hs"]["correct"].get<int64_t>(), acc);
  EXPECT_EQ(r["agreement"]["top1_match"].get<double>(), 1.0);
  EXPECT_NEAR(r["agreement"]["mean_kl"].get<double>(), 0.0, 1e-6);
  EXPECT_GT(r["params"].get<int64_t>(), 0);
  EXPECT_GT(r["size_bytes"].get<int64_t>(), 0);
  // The text table names every model.
  ASSERT_EQ(run_command(still_bin() + " eval --model " + d.path + "/run --suite " + d.path +
                            "/suite.json --out " + d.path + "/res2.json --limit 1",
                        &cli),
            0)
      << cli;
  EXPECT_NE(cli.find("heldout nats/tok"), std::string::npos) << cli;
  EXPECT_NE(cli.find("hs acc_norm"), std::string::npos) << cli;
  // Results over a different suite (here: --limit) are refused as a comparison.
  EXPECT_THROW(require_same_suite(res, "a", load_results(d.path + "/res2.json"), "b"), Error);

  // The same weights as a Hugging Face folder score the same. (GGUF loads through the same
  // path, but a GGUF carrying the byte tokenizer does not load its tokenizer yet.)
  ExportOptions eo;
  eo.tokenizer_source = d.path + "/run";
  export_model(d.path + "/run", "hf", d.path + "/hf", eo);
  ASSERT_EQ(run_command(still_bin() + " eval --model " + d.path + "/hf --suite " + d.path +
                            "/suite.json --out " + d.path + "/res4.json --threads 1",
                        &cli),
            0)
      << cli;
  auto res4 = load_results(d.path + "/res4.json");
  for (auto& other : res4["models"]) {
    EXPECT_NEAR(other["tasks"]["heldout"]["nats_per_token"].get<double>(),
                r["tasks"]["heldout"]["nats_per_token"].get<double>(), 1e-6)
        << other["path"];
    EXPECT_EQ(other["tasks"]["hs"]["correct"], r["tasks"]["hs"]["correct"]);
    EXPECT_EQ(other["identity"].get<std::string>().size(), 64u);
    EXPECT_GT(other["size_bytes"].get<int64_t>(), 0);
  }

  // Tampered data: nothing is scored, the error names the file.
  write_file_atomic(d.path + "/hs.txt", std::string(kHellaSwag) + " ");
  ASSERT_NE(run_command(still_bin() + " eval --model " + d.path + "/run --suite " + d.path +
                            "/suite.json --out " + d.path + "/res3.json",
                        &cli),
            0);
  EXPECT_NE(cli.find(d.path + "/hs.txt"), std::string::npos) << cli;
  EXPECT_NE(cli.find("does not match"), std::string::npos) << cli;
  EXPECT_FALSE(file_exists(d.path + "/res3.json"));
}

}  // namespace
}  // namespace still::eval
