// A shortened `still demo` end to end: split, teach, distil + baseline, eval, report.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "still/io/atomic_file.h"
#include "test_train_helpers.h"

namespace still {

TEST(Demo, ShortenedRunEndToEnd) {
  TempDir d;
  std::string corpus = write_corpus(d.path, 160);
  write_file_atomic(d.path + "/t.json",
                    R"({"dim": 48, "n_layers": 2, "n_heads": 4, "n_kv_heads": 2, "ffn_dim": 128,
                        "vocab_size": 256, "max_seq": 64, "tied_embeddings": true})");
  write_file_atomic(d.path + "/s.json",
                    R"({"dim": 16, "n_layers": 1, "n_heads": 2, "n_kv_heads": 1, "ffn_dim": 40,
                        "vocab_size": 256, "max_seq": 64, "tied_embeddings": true})");
  std::string out;
  ASSERT_EQ(run_command(still_cmd() + " train --data " + corpus + " --config " + d.path +
                            "/t.json --steps 20 --batch 4 --threads 2 --out " + d.path + "/teacher",
                        &out),
            0)
      << out;
  std::string demo = still_cmd() + " demo --corpus " + corpus + " --teacher " + d.path +
                     "/teacher --student " + d.path + "/s.json --steps 6 --max-windows 24 " +
                     "--eval-limit 4 --top-k 8 --threads 2 --out " + d.path + "/demo";
  ASSERT_EQ(run_command(demo + " --json", &out), 0) << out;
  auto summary = nlohmann::json::parse(read_file(d.path + "/demo/demo-summary.json"));
  ASSERT_EQ(summary["stages"].size(), 5u);
  ASSERT_EQ(summary["comparison"].size(), 3u);
  for (auto& row : summary["comparison"])
    EXPECT_TRUE(row["heldout_nats_per_token"].is_number()) << row.dump();
  EXPECT_TRUE(file_exists(summary["report"].get<std::string>()));
  std::string html = read_file(summary["report"].get<std::string>());
  EXPECT_NE(html.find("<svg"), std::string::npos);
  EXPECT_TRUE(file_exists(d.path + "/demo/student/baseline/metrics.jsonl"));
  // A rerun reuses every finished stage.
  ASSERT_EQ(run_command(demo, &out), 0) << out;
  EXPECT_NE(out.find("already complete"), std::string::npos) << out;
}

}  // namespace still
