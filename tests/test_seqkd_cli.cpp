// Sequence-level KD from the command line: a teacher trained by `still train` samples
// continuations of prompts (`teach --generate`); `distil --generated` trains a student on them
// with the prompt masked — its held-out loss on the teacher's completions falls — and the
// matched baseline on the prompts' references; lineage to the generations; one-line errors.
#include <gtest/gtest.h>

#include <cmath>
#include <nlohmann/json.hpp>
#include <sstream>

#include "still/data/manifest.h"
#include "still/io/atomic_file.h"
#include "still/modelio/checkpoint.h"
#include "test_train_helpers.h"

namespace still {
namespace {

std::string write_prompts(const std::string& dir, bool references) {
  static const char* subj[] = {"the cat", "a dog", "the bird", "my friend", "the farmer"};
  static const char* rest[] = {" sees the river.", " likes a stone.", " feeds the sun.",
                               " finds the old tree.", " follows a small house."};
  std::string text;
  for (int i = 0; i < 30; ++i) {
    nlohmann::json j = {{"prompt", subj[i % 5]}, {"id", i}};
    if (references) j["reference"] = std::string(rest[(i / 5 + i) % 5]) + "\n";
    text += j.dump();
    text += '\n';
  }
  std::string p = dir + (references ? "/prompts.jsonl" : "/noref.jsonl");
  write_file_atomic(p, text);
  return p;
}

std::vector<double> heldout_losses(const std::string& run) {
  std::istringstream in(read_file(run + "/metrics.jsonl"));
  std::vector<double> v;
  for (std::string line; std::getline(in, line);) {
    auto j = nlohmann::json::parse(line);
    if (j.contains("heldout_loss")) v.push_back(j["heldout_loss"].get<double>());
  }
  return v;
}

}  // namespace

TEST(SeqKdCli, GenerateThenDistilMaskedWithReferenceBaseline) {
  TempDir d;
  std::string corpus = write_corpus(d.path, 150);
  write_file_atomic(d.path + "/t.json",
                    R"({"dim": 48, "n_layers": 2, "n_heads": 4, "n_kv_heads": 2, "ffn_dim": 128,
                        "vocab_size": 256, "max_seq": 64, "tied_embeddings": true})");
  write_file_atomic(d.path + "/s.json",
                    R"({"dim": 24, "n_layers": 1, "n_heads": 2, "n_kv_heads": 1, "ffn_dim": 64,
                        "vocab_size": 256, "max_seq": 64, "tied_embeddings": true})");
  const std::string S = still_cmd();
  std::string out;
  ASSERT_EQ(run_command(S + " -q train --data " + corpus + " --config " + d.path +
                            "/t.json --steps 60 --batch 8 --lr 3e-3 --threads 2 --out " + d.path +
                            "/teacher",
                        &out),
            0)
      << out;
  const std::string gen = S + " teach --generate --teacher " + d.path + "/teacher --prompts " +
                          write_prompts(d.path, true) +
                          " --max-new-tokens 40 --samples-per-prompt 2 --temperature 0.7 "
                          "--seed 3 --threads 2 --out " +
                          d.path + "/gen";
  ASSERT_EQ(run_command(gen + " --json", &out), 0) << out;
  auto g = nlohmann::json::parse(out.substr(out.find('{')));
  EXPECT_EQ(g["samples"], 60);
  EXPECT_GT(g["completion_tokens"].get<int>(), 600);
  Manifest gm = Manifest::load(d.path + "/gen");
  EXPECT_EQ(gm.kind, "generations");
  EXPECT_EQ(gm.extra["sampling"]["seed"], 3);
  EXPECT_EQ(gm.inputs[0].role, "teacher");
  EXPECT_EQ(gm.inputs[0].sha256.size(), 64u);

  // The student learns the teacher's completions: held-out loss on them (prompt masked) falls.
  const std::string distil = S + " distil --generated " + d.path + "/gen --student " + d.path +
                             "/s.json --steps 40 --batch 8 --seq 64 --lr 3e-3 --eval-every 10 "
                             "--threads 2 --baseline --out " +
                             d.path + "/st";
  ASSERT_EQ(run_command(distil + " --json", &out), 0) << out;
  auto losses = heldout_losses(d.path + "/st");
  ASSERT_EQ(losses.size(), 4u);
  EXPECT_LT(losses.back(), losses.front() - 0.3) << out;
  EXPECT_LT(losses.back(), std::log(256.0) - 1.0) << out;
  auto cmp = nlohmann::json::parse(read_file(d.path + "/st/comparison.json"));
  ASSERT_EQ(cmp["runs"].size(), 2u);
  EXPECT_EQ(cmp["runs"][0]["run"], "seqkd");
  EXPECT_EQ(cmp["runs"][1]["run"], "reference");
  for (auto& r : cmp["runs"]) {
    EXPECT_TRUE(std::isfinite(r["heldout_samples_loss"].get<double>())) << r.dump();
    EXPECT_TRUE(std::isfinite(r["heldout_reference_loss"].get<double>())) << r.dump();
  }
  // Each run's own held-out loss is the one on what it trained on.
  EXPECT_EQ(cmp["runs"][0]["heldout_nats_per_token"], cmp["runs"][0]["heldout_samples_loss"]);
  EXPECT_EQ(cmp["runs"][1]["heldout_nats_per_token"], cmp["runs"][1]["heldout_reference_loss"]);

  // Lineage: student checkpoint -> generations -> teacher.
  Manifest sm = Manifest::load(train::resolve_checkpoint(d.path + "/st"));
  ASSERT_FALSE(sm.inputs.empty());
  EXPECT_EQ(sm.inputs[0].role, "generated");
  EXPECT_EQ(sm.inputs[0].manifest["kind"], "generations");
  // Reruns find the work done.
  ASSERT_EQ(run_command(gen + " --json", &out), 0) << out;
  EXPECT_TRUE(nlohmann::json::parse(out.substr(out.find('{')))["already_complete"].get<bool>());
  std::string before = read_file(train::resolve_checkpoint(d.path + "/st") + "/model.safetensors");
  ASSERT_EQ(run_command(distil, &out), 0) << out;
  EXPECT_EQ(read_file(train::resolve_checkpoint(d.path + "/st") + "/model.safetensors"), before);
  // Resuming with the mask switched off is another run.
  EXPECT_NE(run_command(distil + " --no-mask-prompt", &out), 0);
  EXPECT_EQ(error_lines(out).size(), 1u) << out;
}

TEST(SeqKdCli, BadInputsGiveOneLineErrors) {
  TempDir d;
  const std::string S = still_cmd();
  std::string out;
  ASSERT_EQ(run_command(S + " -q train --data " + write_corpus(d.path, 40) +
                            " --config tiny --seq 32 --batch 2 --steps 1 --threads 1 --out " +
                            d.path + "/teacher",
                        &out),
            0)
      << out;
  const std::string teach =
      S + " teach --generate --teacher " + d.path + "/teacher --max-new-tokens 4 --threads 1 ";
  auto fails_with = [&](const std::string& cmd, const std::string& words) {
    std::string o;
    int rc = run_command(cmd, &o);
    EXPECT_NE(rc, 0) << cmd;
    auto lines = error_lines(o);
    ASSERT_EQ(lines.size(), 1u) << o;
    EXPECT_NE(lines[0].find(words), std::string::npos) << lines[0];
  };
  write_file_atomic(d.path + "/bad.jsonl", "{\"prompt\": \"a\"}\n{\"text\": \"b\"}\n");
  fails_with(teach + "--prompts " + d.path + "/bad.jsonl --out " + d.path + "/g1",
             "line 2 has no string field \"prompt\"");
  write_file_atomic(d.path + "/empty.txt", "\n\n");
  fails_with(teach + "--prompts " + d.path + "/empty.txt --out " + d.path + "/g1",
             "holds no prompts");
  make_dirs(d.path + "/sig");
  write_file_atomic(d.path + "/sig/signal.json", "{}");
  std::string noref = write_prompts(d.path, false);
  fails_with(teach + "--prompts " + noref + " --out " + d.path + "/sig", "holds a teacher signal");
  fails_with(teach + "--prompts " + noref + " --window 8 --out " + d.path + "/g1",
             "--window does not apply to --generate");
  fails_with(
      S + " teach --teacher " + d.path + "/teacher --prompts " + noref + " --out " + d.path + "/g1",
      "give --data");
  ASSERT_EQ(run_command(teach + "--prompts " + noref + " --out " + d.path + "/g2", &out), 0) << out;
  fails_with(teach + "--prompts " + noref + " --temperature 0.5 --out " + d.path + "/g2",
             "other settings (temperature");
  const std::string distil = S + " distil --generated " + d.path +
                             "/g2 --student tiny --steps 1 "
                             "--batch 2 --seq 32 --threads 1 --out " +
                             d.path + "/st ";
  fails_with(distil + "--baseline", "has none: give the prompts .jsonl a \"reference\"");
  fails_with(distil + "--loss fkl", "--loss does not apply to --generated");
  fails_with(S + " distil --signal " + d.path + "/g2 --student tiny --out " + d.path + "/st",
             "pass it with --generated");
  fails_with(S + " distil --generated " + d.path + "/sig --student tiny --out " + d.path + "/st",
             "pass it with --signal");
}

}  // namespace still
