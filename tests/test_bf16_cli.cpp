// --precision on `still train` (and so `still distil`, which shares the flags): a bf16 run
// records its precision, resumes bitwise-identically, refuses a resume in another precision,
// and a CPU without AVX512_BF16 runs it on the portable path. Each runs on both kernel paths.
#include <gtest/gtest.h>

#include <cmath>
#include <nlohmann/json.hpp>

#include "isa_paths.h"
#include "skip.h"
#include "still/io/atomic_file.h"
#include "still/kernels/bf16.h"
#include "still/modelio/checkpoint.h"
#include "test_train_helpers.h"

namespace still {
namespace {

std::string train_cmd(const std::string& corpus, const std::string& out, const std::string& extra) {
  return still_cmd() + " -q train --data " + corpus +
         " --config tiny --seq 64 --batch 4 --steps 12 --save-every 4 --eval-every 6" +
         " --eval-batches 2 --lr 3e-3 --threads 2 --seed 3 --out " + out + " " + extra;
}

void expect_one_error_line(const std::string& out, const std::vector<std::string>& words) {
  auto lines = error_lines(out);
  ASSERT_EQ(lines.size(), 1u) << out;
  for (auto& w : words)
    EXPECT_NE(lines[0].find(w), std::string::npos) << w << " not in: " << lines[0];
}

TEST(Bf16Cli, RecordsPrecisionResumesBitwiseAndRefusesAnotherPrecision) {
  testing::for_each_kernel_isa([&] {
    TempDir d;
    const std::string corpus = write_corpus(d.path, 100), run = d.path + "/run",
                      f32 = d.path + "/f32";
    std::string out;
    ASSERT_EQ(run_command(train_cmd(corpus, run, "--precision bf16 --json"), &out), 0) << out;
    auto j = nlohmann::json::parse(out);
    EXPECT_EQ(j["precision"], "bf16");
    const std::string last = run + "/checkpoints/step-0000012";
    train::CheckpointInfo ck = train::open_checkpoint(last, /*verify=*/true);
    EXPECT_EQ(ck.trainer_state["run"]["precision"], "bf16");
    EXPECT_EQ(ck.manifest.extra["precision"], "bf16");
    const std::string weights = read_file(last + "/model.safetensors");

    // The same run in fp32 ends elsewhere (the flag is not ignored) ...
    ASSERT_EQ(run_command(train_cmd(corpus, f32, "--json"), &out), 0) << out;
    EXPECT_EQ(nlohmann::json::parse(out)["precision"], "fp32");
    EXPECT_NE(read_file(f32 + "/checkpoints/step-0000012/model.safetensors"), weights);

    // ... a resume in the other precision is refused in one line ...
    EXPECT_EQ(run_command(train_cmd(corpus, run, "--precision fp32"), &out), 1);
    expect_one_error_line(out, {"--precision", "bf16", "new --out"});
    EXPECT_EQ(run_command(train_cmd(corpus, f32, "--precision bf16"), &out), 1);
    expect_one_error_line(out, {"--precision", "fp32"});

    // ... and resuming from step 8 in bf16 ends with the same bytes as the uninterrupted run.
    remove_tree(last);
    ASSERT_EQ(run_command(train_cmd(corpus, run, "--precision bf16 --json"), &out), 0) << out;
    j = nlohmann::json::parse(out);
    EXPECT_TRUE(j["resumed"].get<bool>());
    EXPECT_EQ(j["start_step"], 8);
    EXPECT_EQ(read_file(last + "/model.safetensors"), weights)
        << "bf16 resume is not bitwise identical";
  });
}

// The KD path (`still distil`): a bf16 student trains on a teacher's signal, its baseline too,
// and both record their precision; the KD losses match fp32's closely after a few steps.
TEST(Bf16Cli, DistilTrainsABf16Student) {
  testing::for_each_kernel_isa([&] {
    TempDir d;
    const std::string corpus = write_corpus(d.path, 60), S = still_cmd();
    std::string out;
    ASSERT_EQ(run_command(S + " -q train --data " + corpus +
                              " --config tiny --seq 32 --steps 4 --batch 4 --threads 2 --out " +
                              d.path + "/teacher",
                          &out),
              0)
        << out;
    ASSERT_EQ(run_command(S + " -q teach --teacher " + d.path + "/teacher --data " + corpus +
                              " --window 32 --top-k 8 --max-windows 24 --threads 2 --out " +
                              d.path + "/sig",
                          &out),
              0)
        << out;
    auto distil = [&](const std::string& prec) {
      const std::string dir = d.path + "/student_" + prec;
      EXPECT_EQ(
          run_command(S + " -q distil --signal " + d.path + "/sig --student tiny --baseline " +
                          "--steps 6 --batch 4 --eval-every 3 --threads 2 --precision " + prec +
                          " --out " + dir,
                      &out),
          0)
          << out;
      return nlohmann::json::parse(read_file(dir + "/comparison.json"));
    };
    const auto h = distil("bf16"), f = distil("fp32");
    ASSERT_EQ(h["runs"].size(), 2u);
    for (size_t i = 0; i < 2; ++i) {
      EXPECT_EQ(h["runs"][i]["precision"], "bf16");
      EXPECT_EQ(f["runs"][i]["precision"], "fp32");
      const double lh = h["runs"][i]["heldout_nats_per_token"],
                   lf = f["runs"][i]["heldout_nats_per_token"];
      EXPECT_TRUE(std::isfinite(lh));
      EXPECT_NEAR(lh, lf, 0.02 * lf) << h["runs"][i]["run"];
    }
  });
}

TEST(Bf16Cli, BadPrecisionIsOneLineAndBf16RunsWithoutAvx512Bf16) {
  TempDir d;
  const std::string corpus = write_corpus(d.path, 20);
  std::string out;
  EXPECT_EQ(run_command(train_cmd(corpus, d.path + "/a", "--precision fp16"), &out), 1);
  expect_one_error_line(out, {"fp16", "fp32 or bf16"});
  // oneDNN limited to AVX-512 without bf16 stands in for a CPU without it: the portable path.
  EXPECT_EQ(run_command("ONEDNN_MAX_CPU_ISA=AVX512_CORE " +
                            train_cmd(corpus, d.path + "/b", "--precision bf16"),
                        &out),
            0)
      << out;
  EXPECT_TRUE(dir_exists(d.path + "/b/checkpoints/step-0000012"));
}

}  // namespace
}  // namespace still
