// THE TEACH KILL TEST: `still teach` killed with SIGKILL at random moments — several of them
// inside a shard write — and rerun with the same command until it finishes ends with a signal
// directory byte-identical to an uninterrupted run's: the same files (no temp file left
// behind), the same bytes, and the same manifest except the measured wall and CPU seconds.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>

#include <chrono>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "spawn_helpers.h"
#include "still/io/atomic_file.h"
#include "still/model/llama.h"
#include "still/modelio/export.h"
#include "test_train_helpers.h"

namespace still {
namespace fs = std::filesystem;
namespace {

constexpr int kShardDelayMs = 15;

// Temp files of atomic writes in `dir` (AtomicWriter names them "<target>.tmp-<hex>").
std::set<std::string> temp_files(const std::string& dir) {
  std::set<std::string> r;
  if (!dir_exists(dir)) return r;
  for (auto& e : fs::directory_iterator(dir)) {
    std::string n = e.path().filename().string();
    if (n.find(".tmp-") != std::string::npos) r.insert(n);
  }
  return r;
}

// Every file under `dir` (relative name -> bytes).
std::map<std::string, std::string> all_files(const std::string& dir) {
  std::map<std::string, std::string> r;
  for (auto& e : fs::recursive_directory_iterator(dir))
    if (e.is_regular_file()) r[fs::relative(e.path(), dir).string()] = read_file(e.path().string());
  return r;
}

// The manifest without the two fields that are measurements of one process, not facts about
// the output: wall and CPU seconds differ between any two runs, interrupted or not (and a
// resumed run only accounts the time of its last process). Everything else must be equal.
nlohmann::json comparable_manifest(const std::string& text) {
  auto j = nlohmann::json::parse(text);
  j["compute"].erase("wall_seconds");
  j["compute"].erase("cpu_seconds");
  return j;
}

}  // namespace

TEST(TeachKill, KilledRunsResumeToByteIdenticalSignal) {
  TempDir d;
  std::string corpus = write_corpus(d.path, 200);
  // A random tiny teacher as a GGUF file (what users bring).
  LlamaConfig c = LlamaConfig::preset("tiny");
  c.max_seq = 64;
  LlamaModel teacher(c);
  teacher.init_random(5);
  ExportOptions eo;
  eo.tokenizer_source = "bytes";
  export_gguf(c, teacher.params(), d.path + "/teacher.gguf", eo);

  const std::string sig = d.path + "/sig";
  const std::vector<std::string> args = {still_bin(),
                                         "-q",
                                         "teach",
                                         "--teacher",
                                         d.path + "/teacher.gguf",
                                         "--tokenizer",
                                         "bytes",
                                         "--data",
                                         corpus,
                                         "--top-k",
                                         "8",
                                         "--window",
                                         "64",
                                         "--batch",
                                         "4",
                                         "--shard-windows",
                                         "8",
                                         "--threads",
                                         "2",
                                         "--out",
                                         sig};
  const std::vector<std::string> env = {"STILL_TEST_SHARD_DELAY_MS=" +
                                        std::to_string(kShardDelayMs)};

  // Uninterrupted reference run (in the same directory, so the recorded command is the same),
  // then moved aside.
  using Clock = std::chrono::steady_clock;
  auto t0 = Clock::now();
  pid_t pid = spawn_still(args, env);
  int st = 0;
  waitpid(pid, &st, 0);
  ASSERT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0);
  const int ref_ms =
      int(std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t0).count());
  const std::string ref = d.path + "/ref";
  fs::rename(sig, ref);
  ASSERT_GT(temp_files(ref).size() + all_files(ref).size(), 10u);

  // The same command, killed again and again and rerun until it finishes. Every other kill
  // waits for a shard write to begin (a temp file not left by an earlier kill) and lands
  // inside it; the others land at a random moment of a run (start-up, tokenizing, windows,
  // forward passes, writes, the manifest).
  Rng rng(2025);
  int kills = 0, kills_mid_write = 0, runs = 0;
  bool finished = false;
  while (!finished && runs < 30) {
    ++runs;
    const std::set<std::string> stale = temp_files(sig);
    pid = spawn_still(args, env);
    if (kills < 8) {
      const bool at_write = kills % 2 == 0;
      const int wait_ms = at_write ? 20000 : 2 + int(rng.below(uint64_t(ref_ms / 4 + 1)));
      auto deadline = Clock::now() + std::chrono::milliseconds(wait_ms);
      bool exited = false, in_write = false;
      while (!(exited = waitpid(pid, &st, WNOHANG) == pid)) {
        if (at_write) {
          for (auto& t : temp_files(sig))
            if (!stale.count(t) && t.rfind("shard-", 0) == 0) in_write = true;
          if (in_write) {
            std::this_thread::sleep_for(std::chrono::milliseconds(rng.below(kShardDelayMs)));
            break;
          }
        }
        if (Clock::now() >= deadline) break;
        std::this_thread::sleep_for(std::chrono::microseconds(500));
      }
      if (!exited) {
        kill(pid, SIGKILL);
        waitpid(pid, &st, 0);
        ++kills;
        kills_mid_write += in_write;
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
  std::printf("[TeachKill] %d kills (%d inside a shard write) over %d runs; reference %d ms\n",
              kills, kills_mid_write, runs, ref_ms);
  EXPECT_GE(kills, 6);
  EXPECT_GE(kills_mid_write, 3);

  auto a = all_files(ref), b = all_files(sig);
  std::vector<std::string> names_a, names_b;
  for (auto& [n, _] : a) names_a.push_back(n);
  for (auto& [n, _] : b) names_b.push_back(n);
  ASSERT_EQ(names_a, names_b) << "the resumed directory holds other files (a temp file left?)";
  for (auto& [name, bytes] : a) {
    if (name == "manifest.json") continue;
    EXPECT_TRUE(bytes == b[name]) << name << " differs after kill + resume";
  }
  EXPECT_EQ(comparable_manifest(a["manifest.json"]), comparable_manifest(b["manifest.json"]));
}

}  // namespace still
