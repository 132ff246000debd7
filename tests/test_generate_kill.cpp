// `still teach --generate` killed with SIGKILL at random moments and rerun with the same
// command until it finishes ends with the same generations.jsonl, byte for byte, as an
// uninterrupted run, keeps the shards earlier runs finished, and leaves no temp files.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <thread>

#include "spawn_helpers.h"
#include "still/data/manifest.h"
#include "still/io/atomic_file.h"
#include "test_train_helpers.h"

namespace still {
namespace fs = std::filesystem;
namespace {

std::vector<std::string> generate_args(const std::string& dir, const std::string& out) {
  return {still_bin(),
          "-q",
          "teach",
          "--generate",
          "--teacher",
          dir + "/teacher",
          "--prompts",
          dir + "/prompts.txt",
          "--max-new-tokens",
          "64",
          "--samples-per-prompt",
          "2",
          "--shard-prompts",
          "2",
          "--seed",
          "7",
          "--threads",
          "1",
          "--out",
          out};
}

// Files under `dir` (recursively) whose name contains `part`.
int count_files(const std::string& dir, const std::string& part) {
  if (!dir_exists(dir)) return 0;
  int n = 0;
  for (auto& e : fs::recursive_directory_iterator(dir))
    n += e.path().filename().string().find(part) != std::string::npos;
  return n;
}

}  // namespace

TEST(GenerateKill, KilledRunsResumeToIdenticalGenerations) {
  TempDir d;
  std::string corpus = write_corpus(d.path, 60);
  std::string out;
  ASSERT_EQ(run_command(still_cmd() + " -q train --data " + corpus +
                            " --config tiny --seq 64 --batch 4 --steps 3 --threads 1 --out " +
                            d.path + "/teacher",
                        &out),
            0)
      << out;
  std::string prompts;
  for (int i = 0; i < 40; ++i) prompts += std::string(i % 2 ? "the cat " : "a dog ") + "\n\n";
  write_file_atomic(d.path + "/prompts.txt", prompts);
  const std::string a = d.path + "/a", b = d.path + "/b";

  using Clock = std::chrono::steady_clock;
  auto t0 = Clock::now();
  int st = 0;
  pid_t pid = spawn_still(generate_args(d.path, a));
  waitpid(pid, &st, 0);
  ASSERT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0);
  const int full_ms =
      int(std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t0).count());

  // Killed 5 times: the first at start-up, each later one once its run has finished one or
  // two more shards, plus a random 0-20 ms (mid-shard, inside a shard write or between
  // shards). That is at most ~12 of the 20 shards, so every kill lands, however loaded the
  // machine is.
  Rng rng(77);
  auto shards_done = [&] {
    return count_files(b + "/shards", ".jsonl") - count_files(b + "/shards", ".tmp-");
  };
  int kills = 0;
  for (int run = 0; run < 5; ++run) {
    const int target = run == 0 ? 0 : shards_done() + 1 + int(rng.below(2));
    pid = spawn_still(generate_args(d.path, b));
    auto give_up = Clock::now() + std::chrono::seconds(60);
    bool exited = false;
    while (!(exited = waitpid(pid, &st, WNOHANG) == pid) && shards_done() < target &&
           Clock::now() < give_up)
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    if (exited) break;
    std::this_thread::sleep_for(
        std::chrono::milliseconds(run == 0 ? 5 + rng.below(40) : rng.below(20)));
    kill(pid, SIGKILL);
    waitpid(pid, &st, 0);
    ++kills;
  }
  EXPECT_EQ(kills, 5);
  // The last run, to completion: it keeps the shards that earlier runs finished.
  const int shards_before = shards_done();
  const bool done_before = file_exists(b + "/manifest.json");
  ASSERT_EQ(run_command(still_cmd() + " teach --generate --teacher " + d.path +
                            "/teacher --prompts " + d.path +
                            "/prompts.txt --max-new-tokens 64 --samples-per-prompt 2 "
                            "--shard-prompts 2 --seed 7 --threads 1 --json --out " +
                            b,
                        &out),
            0)
      << out;
  auto r = nlohmann::json::parse(out.substr(out.find('{')));
  if (!done_before) {
    EXPECT_EQ(r["shards_kept"].get<int>(), shards_before) << out;
  }
  std::printf("[GenerateKill] %d kills, %d finished shards kept by the last run (%d ms a run)\n",
              kills, shards_before, full_ms);

  EXPECT_EQ(read_file(a + "/generations.jsonl"), read_file(b + "/generations.jsonl"));
  EXPECT_EQ(read_file(a + "/generation.json"), read_file(b + "/generation.json"));
  EXPECT_EQ(Manifest::load(a).to_json()["files"], Manifest::load(b).to_json()["files"]);
  Manifest::load(b).verify(b);
  EXPECT_FALSE(dir_exists(b + "/shards"));
  EXPECT_EQ(count_files(b, ".tmp-"), 0) << "temp files left behind";
  EXPECT_EQ(r["samples"], 80);
}

}  // namespace still
