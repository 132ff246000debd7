// Suites: hashing, refusal of mismatched or missing data, malformed task lines, bzip2, and
// HellaSwag parsing and preprocessing.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "skip.h"
#include "still/eval/data_file.h"
#include "still/eval/hellaswag.h"
#include "still/eval/suite.h"
#include "still/io/atomic_file.h"
#include "still/util/error.h"
#include "still/util/sha256.h"
#include "test_helpers.h"
#include "testdata.h"

namespace still::eval {
namespace {

const char* kItems =
    "Roof shingle removal: A man is sitting on a roof. he\n3\nis using wrap.\n"
    "is ripping level tiles off.\nis holding a rubik's cube.\nstarts pulling up roofing.\n"
    "Family Life: How to play. Visit a site like [www.kiddio.org] to find  games.\n1\n"
    "Make sure [step] you go.\nTry arts.\nMake sure.\nIf you like  it.\n";

std::string write(const std::string& path, const std::string& body) {
  write_file_atomic(path, body);
  return path;
}

std::string hellaswag_suite(const TempDir& d, const std::string& data_rel, const std::string& sha) {
  return write(d.path + "/suite.json",
               R"({"name": "hs", "tasks": [{"name": "hellaswag", "kind": "multiple_choice",
                   "format": "hellaswag", "path": ")" +
                   data_rel + R"(", "sha256": ")" + sha + "\"}]}");
}

TEST(EvalSuite, LoadsVerifiedDataAndHashesCanonicalManifest) {
  TempDir d;
  write(d.path + "/hs.txt", kItems);
  Suite s = load_suite(hellaswag_suite(d, "hs.txt", sha256_hex(kItems)));
  ASSERT_EQ(s.tasks.size(), 1u);
  EXPECT_EQ(s.tasks[0].content, kItems);
  EXPECT_EQ(s.tasks[0].content_sha256, sha256_hex(kItems));
  EXPECT_EQ(s.hash, sha256_hex(s.canonical().dump()));
  EXPECT_EQ(s.hash.size(), 64u);
  // The hash does not depend on where the data lives, only on what it is.
  std::filesystem::create_directories(d.path + "/sub");
  write(d.path + "/sub/hs.txt", kItems);
  Suite moved = load_suite(hellaswag_suite(d, "sub/hs.txt", sha256_hex(kItems)));
  EXPECT_EQ(moved.hash, s.hash);
  // ...but different data (another suite) gives another hash.
  std::string other = std::string(kItems) + kItems;
  write(d.path + "/hs2.txt", other);
  Suite s2 = load_suite(hellaswag_suite(d, "hs2.txt", sha256_hex(other)));
  EXPECT_NE(s2.hash, s.hash);
}

TEST(EvalSuite, RefusesDataWhoseHashDoesNotMatch) {
  TempDir d;
  write(d.path + "/hs.txt", std::string(kItems) + "x");
  std::string suite = hellaswag_suite(d, "hs.txt", sha256_hex(kItems));
  std::string msg = error_of([&] { load_suite(suite); });
  EXPECT_NE(msg.find(d.path + "/hs.txt"), std::string::npos) << msg;
  EXPECT_NE(msg.find("does not match"), std::string::npos) << msg;
  EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
  // A user's copy passed with --data is checked the same way.
  write(d.path + "/good.txt", kItems);
  EXPECT_NO_THROW(load_suite(suite, {{"hellaswag", d.path + "/good.txt"}}));
  msg = error_of([&] { load_suite(suite, {{"hellaswag", d.path + "/hs.txt"}}); });
  EXPECT_NE(msg.find("does not match"), std::string::npos) << msg;
  msg = error_of([&] { load_suite(suite, {{"nosuch", d.path + "/good.txt"}}); });
  EXPECT_NE(msg.find("no task \"nosuch\""), std::string::npos) << msg;
}

TEST(EvalSuite, MissingFileAndBadManifestsNameTheProblem) {
  TempDir d;
  std::string suite = hellaswag_suite(d, "absent.txt", sha256_hex("x"));
  std::string msg = error_of([&] { load_suite(suite); });
  EXPECT_NE(msg.find("absent.txt"), std::string::npos) << msg;
  EXPECT_NE(msg.find("not found"), std::string::npos) << msg;
  EXPECT_NE(error_of([&] { load_suite(d.path + "/nope.json"); }).find("nope.json"),
            std::string::npos);
  auto bad = [&](const std::string& body, const std::string& needle) {
    std::string p = write(d.path + "/bad.json", body);
    std::string m = error_of([&] { load_suite(p); });
    EXPECT_NE(m.find("bad.json"), std::string::npos) << m;
    EXPECT_NE(m.find(needle), std::string::npos) << m;
  };
  bad("{", "not a JSON object");
  bad(R"({"name": "x", "tasks": []})", "non-empty");
  bad(R"({"name": "x", "tasks": [{"name": "a", "kind": "essay", "path": "p", "sha256": ")" +
          sha256_hex("") + "\"}]}",
      "unknown kind");
  bad(R"({"name": "x", "tasks": [{"name": "a", "kind": "perplexity", "path": "p"}]})", "sha256");
  bad(R"({"name": "x", "tasks": [{"name": "a", "kind": "perplexity", "path": "p", "sha256": "zz"}]})",
      "64 lowercase hex");
}

TEST(EvalSuite, MalformedHellaSwagLinesNameFileAndLine) {
  auto msg_of = [](const std::string& body) {
    return error_of([&] { parse_hellaswag(body, "data.txt"); });
  };
  std::string bad_label = "ctx: a b\n7\ne1\ne2\ne3\ne4\n";
  std::string m = msg_of(bad_label);
  EXPECT_NE(m.find("data.txt line 2"), std::string::npos) << m;
  std::string two_items_second_bad =
      std::string(kItems).substr(0, 0) + "c: x\n0\na\nb\nc\nd\nc2: y\n1\na\n\nc\nd\n";
  m = msg_of(two_items_second_bad);
  EXPECT_NE(m.find("data.txt line 10"), std::string::npos) << m;
  EXPECT_NE(m.find("empty ending"), std::string::npos) << m;
  m = msg_of("c: x\n0\na\nb\n");
  EXPECT_NE(m.find("incomplete"), std::string::npos) << m;
  EXPECT_NE(m.find("data.txt line"), std::string::npos) << m;
}

TEST(EvalHellaSwag, PreprocessFollowsLmEval) {
  EXPECT_EQ(hellaswag_preprocess("  How to cook [title] Boil water. "), "How to cook. Boil water.");
  EXPECT_EQ(hellaswag_preprocess("Visit [www.x.org] to [step] go"), "Visit to go");
  EXPECT_EQ(hellaswag_preprocess("a  b"), "a b");
  // Python's one-pass replace: three spaces become two.
  EXPECT_EQ(hellaswag_preprocess("a   b"), "a  b");
  // An unclosed bracket is kept, as re.sub leaves it.
  EXPECT_EQ(hellaswag_preprocess("tap the \" [\" button"), "tap the \" [\" button");
  EXPECT_EQ(python_capitalize("the LADY"), "The lady");
}

TEST(EvalHellaSwag, ContextCapitalizesCtxBLikeLmEval) {
  EXPECT_EQ(hellaswag_context("Roof shingle removal: A man is sitting on a roof. he"),
            "Roof shingle removal: A man is sitting on a roof. He");
  EXPECT_EQ(
      hellaswag_context("Clean and jerk: A lady walks to a barbell. She bends down. the lady"),
      "Clean and jerk: A lady walks to a barbell. She bends down. The lady");
  // Empty ctx_a: the whole body is ctx_b.
  EXPECT_EQ(hellaswag_context("Skiing: a man"), "Skiing: A man");
  // WikiHow contexts end in a finished sentence and keep their case.
  EXPECT_EQ(hellaswag_context("Health: How to sleep. Drink water. e.g. use a fan."),
            "Health: How to sleep. Drink water. e.g. use a fan.");
  auto items = parse_hellaswag(kItems, "mem");
  ASSERT_EQ(items.size(), 2u);
  EXPECT_EQ(items[0].label, 3);
  EXPECT_EQ(items[0].context, "Roof shingle removal: A man is sitting on a roof. He");
  EXPECT_EQ(items[1].context, "Family Life: How to play. Visit a site like to find games.");
  EXPECT_EQ(items[1].endings[0], "Make sure you go.");
  EXPECT_EQ(items[1].endings[3], "If you like it.");
}

TEST(EvalSuite, ReadsBzip2AndAcceptsEitherHash) {
  TempDir d;
  write(d.path + "/hs.txt", kItems);
  ASSERT_EQ(run_command("bzip2 -k " + d.path + "/hs.txt"), 0);
  DataFile f = read_data_file(d.path + "/hs.txt.bz2");
  EXPECT_TRUE(f.compressed);
  EXPECT_EQ(f.content, kItems);
  EXPECT_EQ(f.content_sha256, sha256_hex(kItems));
  EXPECT_NE(f.file_sha256, f.content_sha256);
  // A suite made from the .bz2 accepts the decompressed copy too, with the same suite hash.
  std::string suite =
      write(d.path + "/s.json",
            R"({"name": "hs", "tasks": [{"name": "hellaswag",
                                "kind": "multiple_choice", "path": "hs.txt.bz2", "sha256": ")" +
                f.file_sha256 + R"(", "content_sha256": ")" + f.content_sha256 + "\"}]}");
  Suite a = load_suite(suite);
  Suite b = load_suite(suite, {{"hellaswag", d.path + "/hs.txt"}});
  EXPECT_EQ(a.hash, b.hash);
  // Truncated bzip2 is an error naming the file.
  std::string raw = read_file(d.path + "/hs.txt.bz2");
  write(d.path + "/cut.bz2", raw.substr(0, raw.size() / 2));
  std::string m = error_of([&] { read_data_file(d.path + "/cut.bz2"); });
  EXPECT_NE(m.find("cut.bz2"), std::string::npos) << m;
}

TEST(EvalSuite, MakeTextSuiteWritesAVerifiableManifest) {
  TempDir d;
  Suite s = make_text_suite_from_docs(d.path + "/suites/heldout.json", "heldout",
                                      {"first doc\n\nwith a blank line\n", "second doc\n"});
  ASSERT_EQ(s.tasks.size(), 1u);
  EXPECT_EQ(s.tasks[0].kind, TaskKind::kPerplexity);
  EXPECT_EQ(s.tasks[0].format, "jsonl");
  EXPECT_EQ(s.tasks[0].path, "heldout.jsonl");  // relative to the suite
  Suite again = load_suite(d.path + "/suites/heldout.json");
  EXPECT_EQ(again.hash, s.hash);
  // Editing the data afterwards is caught.
  write(d.path + "/suites/heldout.jsonl", "{\"text\": \"changed\"}\n");
  EXPECT_NE(error_of([&] { load_suite(d.path + "/suites/heldout.json"); }).find("does not match"),
            std::string::npos);
}

TEST(EvalSuite, MakeSuiteFromTheCommandLine) {
  TempDir d;
  write(d.path + "/heldout.txt", "one document\n\nanother one\n");
  std::string out;
  ASSERT_EQ(run_command(still_bin() + " eval --suite " + d.path + "/s/heldout.json --make-suite " +
                            d.path + "/heldout.txt",
                        &out),
            0)
      << out;
  Suite s = load_suite(d.path + "/s/heldout.json");
  EXPECT_NE(out.find(s.hash), std::string::npos) << out;
  EXPECT_EQ(s.name, "heldout");
  EXPECT_EQ(s.tasks[0].path, "../heldout.txt");
  EXPECT_EQ(s.tasks[0].format, "text");
}

TEST(EvalSuite, ShippedHellaSwagSuiteMatchesSharedData) {
  std::string suite = source_dir() + "/suites/hellaswag-val.json";
  Suite parsed = parse_suite(read_file(suite), suite);
  const std::string path = testing::testdata_file("hellaswag/hellaswag_val_full.txt.bz2");
  if (path.empty())
    STILL_SKIP_OR_FAIL("shared HellaSwag data not found under " + testing::testdata_root());
  Suite s = load_suite(suite);
  auto items = parse_hellaswag(s.tasks[0].content, s.tasks[0].resolved_path);
  EXPECT_EQ(items.size(), 10042u);
}

}  // namespace
}  // namespace still::eval
