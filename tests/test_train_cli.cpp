// `still train` and `still generate` end to end: a short run learns, evaluates, saves,
// resumes; bad input gets one clear line and a non-zero exit.
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <sstream>

#include "skip.h"
#include "still/io/atomic_file.h"
#include "still/modelio/checkpoint.h"
#include "still/util/sha256.h"
#include "test_train_helpers.h"
#include "testdata.h"

namespace still {
namespace fs = std::filesystem;
namespace {

std::string train_cmd(const std::string& corpus, const std::string& out,
                      const std::string& extra = "") {
  return still_cmd() + " -q train --data " + corpus +
         " --config tiny --seq 64 --batch 4 --steps 12" +
         " --save-every 4 --eval-every 6 --eval-batches 2 --lr 3e-3 --threads 2 --out " + out +
         " " + extra;
}

void expect_one_error_line(const std::string& out, const std::vector<std::string>& words) {
  auto lines = error_lines(out);
  ASSERT_EQ(lines.size(), 1u) << out;
  for (auto& w : words)
    EXPECT_NE(lines[0].find(w), std::string::npos) << w << " not in: " << lines[0];
}

}  // namespace

TEST(TrainCli, BadInputIsOneLineAndNonZero) {
  TempDir d;
  std::string out;
  EXPECT_EQ(run_command(train_cmd(d.path + "/missing.txt", d.path + "/r"), &out), 1);
  expect_one_error_line(out, {"missing.txt", "does not exist"});
  write_file_atomic(d.path + "/empty.txt", "\n\n");
  EXPECT_EQ(run_command(train_cmd(d.path + "/empty.txt", d.path + "/r"), &out), 1);
  expect_one_error_line(out, {"empty.txt", "empty"});
  std::string corpus = write_corpus(d.path, 20);
  write_file_atomic(d.path + "/bad.json",
                    R"({"dim": 100, "n_layers": 1, "n_heads": 3, "ffn_dim": 64,)"
                    R"( "vocab_size": 256, "max_seq": 64})");
  EXPECT_EQ(run_command(still_cmd() + " -q train --data " + corpus + " --config " + d.path +
                            "/bad.json --steps 2 --out " + d.path + "/r",
                        &out),
            1);
  expect_one_error_line(out, {"bad.json", "not divisible"});
  write_file_atomic(d.path + "/small_vocab.json",
                    R"({"dim": 64, "n_layers": 1, "n_heads": 4, "ffn_dim": 64,)"
                    R"( "vocab_size": 100, "max_seq": 64})");
  EXPECT_EQ(run_command(still_cmd() + " -q train --data " + corpus + " --config " + d.path +
                            "/small_vocab.json --steps 2 --out " + d.path + "/r",
                        &out),
            1);
  expect_one_error_line(out, {"vocab_size 100", "256"});
  EXPECT_EQ(
      run_command(still_cmd() + " -q generate --model " + d.path + "/nothing --prompt hi", &out),
      1);
  expect_one_error_line(out, {"nothing", "does not exist"});
}

TEST(TrainCli, TrainsEvaluatesSavesAndGenerates) {
  TempDir d;
  std::string corpus = write_corpus(d.path, 200), run = d.path + "/run", out;
  ASSERT_EQ(run_command(train_cmd(corpus, run, "--steps 60 --save-every 20 --eval-every 20 --json"),
                        &out),
            0)
      << out;
  auto j = nlohmann::json::parse(out);
  EXPECT_EQ(j["step"], 60);
  EXPECT_FALSE(j["resumed"].get<bool>());
  // A working forward/backward takes the grammar's bytes from ln 256 = 5.5 nats well down.
  EXPECT_LT(j["heldout_loss"].get<double>(), 2.0) << out;
  EXPECT_GT(j["flops"].get<double>(), 0);
  EXPECT_GT(j["activation_bytes"].get<double>(), 0);
  EXPECT_EQ(read_file(run + "/latest"), "step-0000060\n");
  // Two checkpoints kept; metrics has one line per step, held-out loss every 20 steps.
  std::vector<std::string> cks;
  for (auto& e : fs::directory_iterator(run + "/checkpoints")) cks.push_back(e.path().filename());
  std::sort(cks.begin(), cks.end());
  EXPECT_EQ(cks, (std::vector<std::string>{"step-0000040", "step-0000060"}));
  std::istringstream metrics(read_file(run + "/metrics.jsonl"));
  std::string line;
  int n = 0, evals = 0;
  while (std::getline(metrics, line)) {
    auto m = nlohmann::json::parse(line);
    EXPECT_EQ(m["step"], ++n);
    for (auto* k : {"lr", "loss", "grad_norm", "tokens_per_second"})
      EXPECT_TRUE(m.contains(k)) << k;
    evals += m.contains("heldout_loss");
  }
  EXPECT_EQ(n, 60);
  EXPECT_EQ(evals, 3);
  // The checkpoint's manifest records the corpus and the compute spent.
  auto man = nlohmann::json::parse(read_file(run + "/checkpoints/step-0000060/manifest.json"));
  EXPECT_EQ(man["inputs"][0]["role"], "data");
  EXPECT_EQ(man["compute"]["tokens"], 60 * 4 * 64);
  auto state =
      nlohmann::json::parse(read_file(run + "/checkpoints/step-0000060/trainer_state.json"));
  EXPECT_EQ(state["threads"], 2);
  EXPECT_TRUE(state["versions"].contains("onednn"));

  // Rerunning a finished run does nothing and says so.
  ASSERT_EQ(run_command(train_cmd(corpus, run, "--steps 60 --save-every 20 --eval-every 20 --json"),
                        &out),
            0);
  EXPECT_TRUE(nlohmann::json::parse(out)["already_complete"].get<bool>());

  // Greedy generation is deterministic, from the run dir or the checkpoint dir.
  std::string g1, g2, g3;
  std::string gen = " -q generate --prompt 'the cat' --temperature 0 --max-tokens 40 --model ";
  ASSERT_EQ(run_command(still_cmd() + gen + run, &g1), 0) << g1;
  ASSERT_EQ(run_command(still_cmd() + gen + run + "/checkpoints/step-0000060", &g2), 0);
  EXPECT_EQ(g1, g2);
  EXPECT_GE(g1.size(), 20u);
  // Sampling with a seed repeats; the JSON form reports the stop reason.
  std::string samp =
      " -q generate --prompt 'a dog' --temperature 1 --top-k 20 --top-p 0.9 --seed 5 "
      "--max-tokens 30 --json --model " +
      run;
  ASSERT_EQ(run_command(still_cmd() + samp, &g1), 0) << g1;
  ASSERT_EQ(run_command(still_cmd() + samp, &g3), 0);
  auto gj = nlohmann::json::parse(g1);
  EXPECT_EQ(gj["text"], nlohmann::json::parse(g3)["text"]);
  EXPECT_EQ(gj["generated_tokens"], 30);
  EXPECT_EQ(gj["stop_reason"], "max_tokens");
}

TEST(TrainCli, ResumeRefusesAnotherRunAndDamagedCheckpoints) {
  TempDir d;
  std::string corpus = write_corpus(d.path, 100), run = d.path + "/run", out;
  ASSERT_EQ(run_command(train_cmd(corpus, run, ""), &out), 0) << out;
  EXPECT_EQ(run_command(train_cmd(corpus, run, "--lr 1e-3"), &out), 1);
  expect_one_error_line(out, {"--lr", "new --out"});
  EXPECT_EQ(run_command(train_cmd(corpus, run, "--steps 20"), &out), 1);
  expect_one_error_line(out, {"--steps"});
  write_file_atomic(d.path + "/other.txt", synthetic_corpus(100, 2));
  EXPECT_EQ(run_command(train_cmd(d.path + "/other.txt", run, ""), &out), 1);
  expect_one_error_line(out, {"another corpus"});
  write_file_atomic(d.path + "/cfg.json",
                    R"({"dim": 64, "n_layers": 1, "n_heads": 4, "ffn_dim": 96,)"
                    R"( "vocab_size": 256, "max_seq": 64})");
  EXPECT_EQ(
      run_command(still_cmd() + " -q train --data " + corpus + " --config " + d.path +
                      "/cfg.json --seq 64 --batch 4 --steps 12 --lr 3e-3 --threads 2 --out " + run,
                  &out),
      1);
  expect_one_error_line(out, {"another model configuration"});

  // Damage the newest checkpoint: resuming names the file and says what to do.
  std::string newest = run + "/checkpoints/step-0000012";
  std::string w = read_file(newest + "/model.safetensors");
  w[w.size() - 5] ^= 0x10;
  write_file_atomic(newest + "/model.safetensors", w);
  EXPECT_EQ(run_command(train_cmd(corpus, run, ""), &out), 1);
  expect_one_error_line(out, {"model.safetensors", "damaged", "delete"});
  // Generation refuses it too.
  EXPECT_EQ(run_command(still_cmd() + " -q generate --prompt x --model " + run, &out), 1);
  expect_one_error_line(out, {"model.safetensors"});
  // Deleting it falls back to the previous checkpoint, which resumes and finishes.
  remove_tree(newest);
  ASSERT_EQ(run_command(train_cmd(corpus, run, "--json"), &out), 0) << out;
  auto j = nlohmann::json::parse(out);
  EXPECT_TRUE(j["resumed"].get<bool>());
  EXPECT_EQ(j["start_step"], 8);
  EXPECT_EQ(j["step"], 12);

  // A different thread count resumes with a warning that bitwise determinism is lost.
  remove_tree(run + "/checkpoints/step-0000012");
  std::string cmd = train_cmd(corpus, run);
  cmd.replace(cmd.find("--threads 2"), 11, "--threads 1");
  ASSERT_EQ(run_command(cmd, &out), 0) << out;
  EXPECT_NE(out.find("no longer bitwise identical"), std::string::npos) << out;
}

TEST(TrainCli, FullDiskDuringSaveIsAClearErrorAndLeavesNoHalfCheckpoint) {
  TempDir d;
  std::string corpus = write_corpus(d.path, 100), run = d.path + "/run", out;
  // ulimit -f (KiB) below the size of model.safetensors: every write past it fails (EFBIG),
  // as on a full disk.
  int rc = run_command("ulimit -f 200; " + train_cmd(corpus, run, ""), &out);
  EXPECT_EQ(rc, 1) << out;
  expect_one_error_line(out, {"disk full"});
  EXPECT_FALSE(file_exists(run + "/latest"));
  if (dir_exists(run + "/checkpoints")) {
    EXPECT_TRUE(fs::is_empty(run + "/checkpoints")) << "a half-written checkpoint was left";
  }
  // With space again, the same command runs to the end.
  ASSERT_EQ(run_command(train_cmd(corpus, run, ""), &out), 0) << out;
  EXPECT_EQ(read_file(run + "/latest"), "step-0000012\n");
}

TEST(TrainCli, TrainsWithATokenizerFileAndCarriesItInTheCheckpoint) {
  const std::string gguf = testing::testdata_file("tokenizers/ggml-vocab-llama-spm.gguf");
  if (gguf.empty())
    STILL_SKIP_OR_FAIL("shared testdata not found under " + testing::testdata_root());
  TempDir d;
  std::string corpus = write_corpus(d.path, 60), run = d.path + "/run", out;
  // Llama 2's SentencePiece vocabulary (32000, BOS 1, EOS 2): the config must cover it.
  write_file_atomic(d.path + "/small_vocab.json",
                    R"({"dim": 32, "n_layers": 1, "n_heads": 2, "ffn_dim": 64,)"
                    R"( "vocab_size": 256, "max_seq": 32, "tied_embeddings": true})");
  std::string base = still_cmd() + " -q train --data " + corpus + " --tokenizer " + gguf +
                     " --seq 32 --batch 2 --steps 3 --threads 1 --out " + run + " --config ";
  EXPECT_EQ(run_command(base + d.path + "/small_vocab.json", &out), 1);
  expect_one_error_line(out, {"vocab_size 256", "32000"});
  write_file_atomic(d.path + "/cfg.json",
                    R"({"dim": 32, "n_layers": 1, "n_heads": 2, "ffn_dim": 64,)"
                    R"( "vocab_size": 32000, "max_seq": 32, "tied_embeddings": true})");
  ASSERT_EQ(run_command(base + d.path + "/cfg.json --json", &out), 0) << out;
  std::string ck = run + "/checkpoints/step-0000003";
  EXPECT_TRUE(file_exists(ck + "/tokenizer/ggml-vocab-llama-spm.gguf"));
  auto info = nlohmann::json::parse(read_file(ck + "/tokenizer_info.json"));
  EXPECT_NE(info["kind"], "bytes");
  auto cfg = nlohmann::json::parse(read_file(ck + "/config.json"));
  EXPECT_EQ(cfg["bos_token_id"], 1);
  EXPECT_EQ(cfg["eos_token_id"], 2);
  // Generation reads the tokenizer from the checkpoint, not from the original path.
  ASSERT_EQ(run_command(still_cmd() + " -q generate --model " + run +
                            " --prompt 'the cat' --max-tokens 8 --json",
                        &out),
            0)
      << out;
  auto g = nlohmann::json::parse(out);
  EXPECT_EQ(g["prompt_tokens"].get<int>(), 3);  // BOS + "▁the" + "▁cat"
}

}  // namespace still

namespace still {

// A tokenizer.json under another name (tok.json, or no extension at all) is a tokenizer.json:
// `train` takes it, the run carries it (copied, hashed in the manifest), and `export`,
// `generate` and `eval` find it in the run without being told again.
TEST(TrainCli, ARunCarriesItsTokenizerFileWhateverItIsCalled) {
  TempDir d;
  std::string corpus = write_corpus(d.path, 80), tok = d.path + "/tok.json", out;
  ASSERT_EQ(run_command(still_cmd() + " -q tokenizer train --data " + corpus +
                            " --vocab-size 300 --out " + tok,
                        &out),
            0)
      << out;
  std::string renamed = d.path + "/my-vocab";  // by content, not by name
  write_file_atomic(renamed, read_file(tok));
  write_file_atomic(d.path + "/cfg.json",
                    R"({"dim": 32, "n_layers": 1, "n_heads": 2, "ffn_dim": 64,)"
                    R"( "vocab_size": 320, "max_seq": 32, "tied_embeddings": true})");
  std::string run = d.path + "/run";
  ASSERT_EQ(run_command(still_cmd() + " -q train --data " + corpus + " --tokenizer " + tok +
                            " --config " + d.path + "/cfg.json --seq 32 --batch 2 --steps 2" +
                            " --threads 1 --out " + run,
                        &out),
            0)
      << out;
  std::string ck = run + "/checkpoints/step-0000002";
  ASSERT_TRUE(file_exists(ck + "/tokenizer/tokenizer.json")) << out;
  auto info = nlohmann::json::parse(read_file(ck + "/tokenizer_info.json"));
  EXPECT_EQ(info["sha256"], sha256_file(tok));
  EXPECT_NE(read_file(ck + "/manifest.json").find("tokenizer/tokenizer.json"), std::string::npos);
  // The original may go away: the run has its own copy.
  fs::remove(tok);
  ASSERT_EQ(run_command(still_cmd() + " -q export --model " + run + " --format gguf --out " +
                            d.path + "/m.gguf",
                        &out),
            0)
      << out;
  ASSERT_EQ(
      run_command(
          still_cmd() + " -q export --model " + run + " --format hf --out " + d.path + "/hf", &out),
      0)
      << out;
  EXPECT_EQ(read_file(d.path + "/hf/tokenizer.json"), read_file(renamed));
  ASSERT_EQ(run_command(still_cmd() + " -q generate --model " + run +
                            " --prompt 'the cat' --max-tokens 4 --json",
                        &out),
            0)
      << out;
  std::string suite = d.path + "/suite.json";
  ASSERT_EQ(
      run_command(still_cmd() + " -q eval --suite " + suite + " --make-suite " + corpus, &out), 0)
      << out;
  ASSERT_EQ(run_command(still_cmd() + " -q eval --model " + run + " --suite " + suite +
                            " --limit 1 --out " + d.path + "/res.json",
                        &out),
            0)
      << out;
  // --tokenizer takes the renamed file too (it was "neither a GGUF file nor a model folder").
  ASSERT_EQ(run_command(still_cmd() + " -q export --model " + run + " --format gguf --tokenizer " +
                            renamed + " --out " + d.path + "/m2.gguf",
                        &out),
            0)
      << out;
  ASSERT_EQ(
      run_command(still_cmd() + " -q tokenize --tokenizer " + renamed + " --ids 'the cat'", &out),
      0)
      << out;
}

}  // namespace still
