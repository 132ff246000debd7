// bench/compare_torch.sh with stand-ins for its binaries: a row that fails (bf16 on a CPU
// without AVX512_BF16) prints why and the other rows still print, exit 0.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include "still/io/atomic_file.h"
#include "test_helpers.h"

namespace still {
namespace {

void write_script(const std::string& path, const std::string& body) {
  write_file_atomic(path, "#!/bin/bash\n" + body);
  chmod(path.c_str(), 0755);
}

}  // namespace

TEST(BenchScripts, CompareTorchPrintsFp32RowsWhenBf16Fails) {
  TempDir d;
  write_script(d.path + "/engine_step",
               "if [ \"$5\" = bf16 ]; then echo 'still: error: --precision bf16 needs "
               "AVX512_BF16' >&2; exit 1; fi\necho \"engine_step $1: 1200.0 tokens/s\"\n");
  write_script(d.path + "/fma_peak",
               "[ \"$2\" = bf16 ] && exit 1\necho 'fp32 peak: 100.0 GFLOP/s'\n");
  write_script(d.path + "/torch", "echo \"torch $2: 1000.0 tokens/s\"\n");
  std::string out;
  ASSERT_EQ(run_command("BUILD=" + d.path + " PYTHON=" + d.path + "/torch bash " + source_dir() +
                            "/bench/compare_torch.sh 'stories15m small' 1",
                        &out),
            0)
      << out;
  for (const char* row : {"stories15m B=8 T=256 fp32: still 1200 tok/s", "small B=4 T=512 fp32:",
                          "stories15m B=8 T=256 bf16: skipped: still's bf16 step failed",
                          "small B=4 T=512 bf16: skipped", "needs AVX512_BF16", "still/tuned 1.20x"})
    EXPECT_NE(out.find(row), std::string::npos) << row << " not in:\n" << out;
}

}  // namespace still
