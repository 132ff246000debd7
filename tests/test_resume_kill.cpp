// THE KILL TEST: a run killed with SIGKILL at random moments — many of them inside a
// checkpoint write — and rerun with the same command until it finishes ends with weights
// bitwise identical to an uninterrupted run (same machine, same --threads).
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "spawn_helpers.h"
#include "still/io/atomic_file.h"
#include "test_train_helpers.h"

namespace still {
namespace fs = std::filesystem;
namespace {

std::vector<std::string> train_args(const std::string& corpus, const std::string& out) {
  return {still_bin(), "-q",           "train", "--data",       corpus, "--config",
          "tiny",      "--seq",        "64",    "--batch",      "4",    "--steps",
          "30",        "--save-every", "3",     "--eval-every", "10",   "--eval-batches",
          "2",         "--lr",         "3e-3",  "--threads",    "2",    "--seed",
          "11",        "--out",        out};
}

// Starts `still train` with the checkpoint delay hook on; returns its pid.
pid_t spawn(const std::vector<std::string>& args, int delay_ms) {
  return spawn_still(args, {"STILL_TEST_CHECKPOINT_DELAY_MS=" + std::to_string(delay_ms)});
}

// Whether a checkpoint save of process `pid` is under way (its temp directory exists).
bool saving(const std::string& run, pid_t pid) {
  if (!dir_exists(run + "/checkpoints")) return false;
  std::string tag = "-" + std::to_string(pid);
  for (auto& e : fs::directory_iterator(run + "/checkpoints")) {
    std::string n = e.path().filename().string();
    if (n.rfind(".tmp-", 0) == 0 && n.size() > tag.size() &&
        n.compare(n.size() - tag.size(), tag.size(), tag) == 0)
      return true;
  }
  return false;
}

bool has_temp_checkpoint(const std::string& run) {
  if (!dir_exists(run + "/checkpoints")) return false;
  for (auto& e : fs::directory_iterator(run + "/checkpoints"))
    if (e.path().filename().string().rfind(".tmp-", 0) == 0) return true;
  return false;
}

std::string final_file(const std::string& run, const std::string& name) {
  std::string latest = read_file(run + "/latest");
  latest.pop_back();
  return read_file(run + "/checkpoints/" + latest + "/" + name);
}

}  // namespace

TEST(ResumeKill, KilledRunsResumeToBitwiseIdenticalWeights) {
  TempDir d;
  std::string corpus = write_corpus(d.path, 150);
  std::string a = d.path + "/a", b = d.path + "/b";

  // Uninterrupted reference run.
  pid_t pid = spawn(train_args(corpus, a), 0);
  int st = 0;
  waitpid(pid, &st, 0);
  ASSERT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0);

  // The same command, killed again and again and rerun until it finishes. Every other kill
  // waits for a checkpoint save to begin and lands inside it; the others land at a random
  // moment (start-up, a training step, an evaluation, a save).
  using Clock = std::chrono::steady_clock;
  Rng rng(2024);
  int kills = 0, kills_mid_save = 0, runs = 0;
  bool finished = false;
  while (!finished && runs < 30) {
    ++runs;
    pid = spawn(train_args(corpus, b), 10);
    if (kills < 8) {
      const bool at_save = kills % 2 == 0;
      auto deadline =
          Clock::now() + std::chrono::milliseconds(at_save ? 20000 : 5 + rng.below(300));
      bool exited = false;
      while (!(exited = waitpid(pid, &st, WNOHANG) == pid)) {
        if (at_save && saving(b, pid)) {
          std::this_thread::sleep_for(std::chrono::milliseconds(rng.below(30)));
          break;
        }
        if (Clock::now() >= deadline) break;
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
      }
      if (!exited) {
        kill(pid, SIGKILL);
        waitpid(pid, &st, 0);
        ++kills;
        kills_mid_save += saving(b, pid);
        continue;
      }
    } else {
      waitpid(pid, &st, 0);
    }
    ASSERT_TRUE(WIFEXITED(st)) << "run " << runs;
    ASSERT_EQ(WEXITSTATUS(st), 0) << "run " << runs;
    finished = true;
  }
  ASSERT_TRUE(finished);
  std::printf("[ResumeKill] %d kills (%d inside a checkpoint write) over %d runs\n", kills,
              kills_mid_save, runs);
  EXPECT_GE(kills, 6);
  EXPECT_GE(kills_mid_save, 2);

  EXPECT_EQ(read_file(b + "/latest"), "step-0000030\n");
  EXPECT_TRUE(final_file(a, "model.safetensors") == final_file(b, "model.safetensors"))
      << "final weights differ after kill + resume";
  EXPECT_TRUE(final_file(a, "optimizer.safetensors") == final_file(b, "optimizer.safetensors"));
  EXPECT_FALSE(has_temp_checkpoint(b));
  // The metrics of the resumed run hold every step once, with the same losses.
  auto losses = [](const std::string& run) {
    std::istringstream in(read_file(run + "/metrics.jsonl"));
    std::string line;
    std::vector<double> v;
    while (std::getline(in, line)) v.push_back(nlohmann::json::parse(line)["loss"].get<double>());
    return v;
  };
  auto la = losses(a), lb = losses(b);
  EXPECT_EQ(la.size(), 30u);
  EXPECT_EQ(la, lb);
}

}  // namespace still
