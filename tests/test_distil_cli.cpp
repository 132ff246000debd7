// `still teach` + `still distil` from the command line: a teacher trained by `still train`,
// its signal, a KD student with its matched CE baseline, lineage from student to teacher,
// an exact rerun, and one-line errors on a damaged signal.
#include <gtest/gtest.h>

#include <cmath>
#include <nlohmann/json.hpp>

#include "still/data/manifest.h"
#include "still/io/atomic_file.h"
#include "still/data/manifest.h"
#include "still/modelio/checkpoint.h"
#include "still/util/sha256.h"
#include "test_train_helpers.h"

namespace still {

TEST(DistilCli, TeachDistilWithBaselineLineageAndRerun) {
  TempDir d;
  std::string corpus = write_corpus(d.path, 120);
  write_file_atomic(d.path + "/t.json",
                    R"({"dim": 48, "n_layers": 2, "n_heads": 4, "n_kv_heads": 2, "ffn_dim": 128,
                        "vocab_size": 256, "max_seq": 32, "tied_embeddings": true})");
  write_file_atomic(d.path + "/s.json",
                    R"({"dim": 16, "n_layers": 1, "n_heads": 2, "n_kv_heads": 1, "ffn_dim": 40,
                        "vocab_size": 256, "max_seq": 32, "tied_embeddings": true})");
  std::string out;
  std::string S = still_cmd();
  ASSERT_EQ(run_command(S + " train --data " + corpus + " --config " + d.path +
                            "/t.json --steps 12 --batch 4 --threads 2 --out " + d.path + "/teacher",
                        &out),
            0)
      << out;
  ASSERT_EQ(run_command(S + " teach --teacher " + d.path + "/teacher --data " + corpus +
                            " --top-k 8 --max-windows 48 --shard-windows 16 --threads 2 --out " +
                            d.path + "/sig --json",
                        &out),
            0)
      << out;
  auto teach = nlohmann::json::parse(out.substr(out.find('{')));
  EXPECT_EQ(teach["windows"], 48);
  EXPECT_GT(teach["teacher_nats_per_token"].get<double>(), 0.5);

  std::string distil = S + " distil --signal " + d.path + "/sig --student " + d.path +
                       "/s.json --loss jsd:0.5 --alpha 0.8 --temperature 2 --baseline --steps 8 "
                       "--batch 4 --eval-every 4 --threads 2 --out " +
                       d.path + "/student";
  ASSERT_EQ(run_command(distil + " --json", &out), 0) << out;
  auto cmp = nlohmann::json::parse(read_file(d.path + "/student/comparison.json"));
  ASSERT_EQ(cmp["runs"].size(), 2u);
  for (auto& r : cmp["runs"]) {
    EXPECT_TRUE(std::isfinite(r["heldout_nats_per_token"].get<double>())) << r.dump();
    EXPECT_GE(r["heldout_agreement"].get<double>(), 0.0) << r.dump();
    EXPECT_GT(r["heldout_kl"].get<double>(), 0.0) << r.dump();
  }
  EXPECT_EQ(cmp["runs"][0]["run"], "kd");
  EXPECT_EQ(cmp["runs"][1]["run"], "ce");

  // Lineage: student checkpoint -> signal -> teacher checkpoint -> corpus.
  std::string ck = train::resolve_checkpoint(d.path + "/student");
  Manifest m = Manifest::load(ck);
  ASSERT_FALSE(m.inputs.empty());
  EXPECT_EQ(m.inputs[0].role, "signal");
  const auto& sig_manifest = m.inputs[0].manifest;
  EXPECT_EQ(sig_manifest["kind"], "signal");
  bool found_teacher = false;
  for (auto& in : sig_manifest["inputs"])
    if (in["role"] == "teacher") found_teacher = in["sha256"].get<std::string>().size() == 64;
  EXPECT_TRUE(found_teacher) << sig_manifest.dump();

  // The student generates; a rerun finds the work done and changes nothing.
  ASSERT_EQ(run_command(S + " generate --model " + d.path +
                            "/student --prompt 'the ' "
                            "--max-tokens 8 --temperature 0",
                        &out),
            0)
      << out;
  std::string before = read_file(ck + "/model.safetensors");
  ASSERT_EQ(run_command(distil, &out), 0) << out;
  EXPECT_EQ(read_file(train::resolve_checkpoint(d.path + "/student") + "/model.safetensors"),
            before);

  // A damaged shard: one line naming it, non-zero exit.
  std::string shard = d.path + "/sig/shard-00001.sig";
  std::string bytes = read_file(shard);
  bytes[bytes.size() / 2] ^= 0x20;
  write_file_atomic(shard, bytes);
  int rc = run_command(S + " distil --signal " + d.path + "/sig --student " + d.path +
                           "/s.json --steps 2 --out " + d.path + "/student2",
                       &out);
  EXPECT_EQ(rc, 1) << out;
  auto errs = error_lines(out);
  ASSERT_EQ(errs.size(), 1u) << out;
  EXPECT_NE(errs[0].find("shard-00001.sig"), std::string::npos) << errs[0];
}

}  // namespace still

namespace still {

// A signal carries its teacher's tokenizer (copied, hashed in its manifest): `distil` run
// from another directory than `teach` (whose relative teacher path then names nothing)
// takes the tokenizer from the signal, and so does the student's checkpoint.
TEST(DistilCli, SignalCarriesItsTokenizerAndDistilRunsFromAnotherDirectory) {
  TempDir d;
  std::string corpus = write_corpus(d.path, 80), out, S = still_cmd();
  ASSERT_EQ(run_command(S + " -q tokenizer train --data " + corpus + " --vocab-size 300 --out " +
                            d.path + "/tok.json",
                        &out),
            0)
      << out;
  write_file_atomic(d.path + "/t.json",
                    R"({"dim": 32, "n_layers": 1, "n_heads": 2, "ffn_dim": 64,
                        "vocab_size": 320, "max_seq": 32, "tied_embeddings": true})");
  write_file_atomic(d.path + "/s.json",
                    R"({"dim": 16, "n_layers": 1, "n_heads": 2, "ffn_dim": 40,
                        "vocab_size": 320, "max_seq": 32, "tied_embeddings": true})");
  const std::string in_d = "cd " + d.path + " && ";
  ASSERT_EQ(run_command(in_d + S + " -q train --data corpus.txt --tokenizer tok.json --config " +
                            "t.json --steps 2 --batch 2 --threads 1 --out teacher",
                        &out),
            0)
      << out;
  ASSERT_EQ(run_command(in_d + S + " -q teach --teacher teacher --data corpus.txt --top-k 4 " +
                            "--max-windows 8 --shard-windows 4 --threads 1 --out runs/sig",
                        &out),
            0)
      << out;
  auto meta = nlohmann::json::parse(read_file(d.path + "/runs/sig/signal.json"));
  EXPECT_EQ(meta["tokenizer"]["file"], "tokenizer");
  EXPECT_EQ(meta["tokenizer"]["sha256"], sha256_file(d.path + "/tok.json"));
  EXPECT_TRUE(file_exists(d.path + "/runs/sig/tokenizer/tokenizer.json"));
  std::filesystem::remove(d.path + "/tok.json");
  make_dirs(d.path + "/elsewhere");
  ASSERT_EQ(run_command("cd " + d.path + "/elsewhere && " + S +
                            " -q distil --signal ../runs/sig --student ../s.json --steps 2 " +
                            "--batch 2 --eval-every 2 --threads 1 --out student",
                        &out),
            0)
      << out;
  std::string ck = train::resolve_checkpoint(d.path + "/elsewhere/student");
  EXPECT_TRUE(file_exists(ck + "/tokenizer/tokenizer.json"));
  // A damaged copy is named by the signal's manifest check.
  write_file_atomic(d.path + "/runs/sig/tokenizer/tokenizer.json", "{}");
  EXPECT_EQ(run_command("cd " + d.path + "/elsewhere && " + S +
                            " -q distil --signal ../runs/sig --student ../s.json --steps 2 " +
                            "--batch 2 --threads 1 --out student2",
                        &out),
            1)
      << out;
  EXPECT_NE(out.find("tokenizer"), std::string::npos) << out;
}

}  // namespace still
