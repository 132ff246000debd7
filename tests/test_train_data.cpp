// Corpus reading, the held-out split, packing into rows, the LR schedule and clipping.
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <set>

#include "still/data/corpus.h"
#include "still/data/packing.h"
#include "still/io/atomic_file.h"
#include "still/train/schedule.h"
#include "still/util/error.h"
#include "test_helpers.h"

namespace still::train {
namespace {

// Documents whose tokens encode (document, offset) = d*1000 + offset, so a test can tell
// where any token came from.
TokenDocs coded_docs(const std::vector<int>& lens) {
  TokenDocs t;
  for (size_t d = 0; d < lens.size(); ++d) {
    std::vector<int32_t> doc;
    for (int i = 0; i < lens[d]; ++i) doc.push_back(int32_t(d * 1000 + i));
    t.add(doc);
  }
  return t;
}

}  // namespace

TEST(TrainCorpus, SplitsTextIntoBlankLineBlocks) {
  auto docs = split_documents("a b\nc\n\n  \t\nd\r\n\ne\n", false, "x");
  ASSERT_EQ(docs.size(), 3u);
  EXPECT_EQ(docs[0], "a b\nc\n");
  EXPECT_EQ(docs[1], "d\n");
  EXPECT_EQ(docs[2], "e\n");
  // No blank line anywhere: one document per line.
  docs = split_documents("one\ntwo\nthree", false, "x");
  ASSERT_EQ(docs.size(), 3u);
  EXPECT_EQ(docs[2], "three\n");
  // Leading blank lines don't turn a line-per-record file into one block.
  docs = split_documents("\n\none\ntwo\n\n\n", false, "x");
  ASSERT_EQ(docs.size(), 2u);
}

TEST(TrainCorpus, ReadsJsonlTextFields) {
  auto docs = split_documents("{\"text\":\"hi\\n\\nthere\"}\n\n{\"text\":\"x\",\"id\":3}\n", true,
                              "c.jsonl");
  ASSERT_EQ(docs.size(), 2u);
  EXPECT_EQ(docs[0], "hi\n\nthere");  // a JSONL record is one document, blank lines and all
  EXPECT_EQ(docs[1], "x");
  std::string msg =
      error_of([] { split_documents("{\"text\":\"a\"}\n{\"txt\":1}\n", true, "c.jsonl"); });
  EXPECT_NE(msg.find("c.jsonl line 2"), std::string::npos) << msg;
  msg = error_of([] { split_documents("{oops\n", true, "c.jsonl"); });
  EXPECT_NE(msg.find("line 1"), std::string::npos) << msg;
}

TEST(TrainCorpus, MissingOrEmptyCorpusIsAClearError) {
  TempDir d;
  ByteTokenizer tok;
  std::string msg = error_of([&] { load_corpus(d.path + "/nope.txt", tok, {}); });
  EXPECT_NE(msg.find("nope.txt does not exist"), std::string::npos) << msg;
  write_file_atomic(d.path + "/empty.txt", " \n\n\t\n");
  msg = error_of([&] { load_corpus(d.path + "/empty.txt", tok, {}); });
  EXPECT_NE(msg.find("empty"), std::string::npos) << msg;
}

TEST(TrainCorpus, HeldOutSplitIsDisjointStableAndNeverEmpty) {
  ByteTokenizer tok;
  std::vector<std::string> texts;
  for (int i = 0; i < 400; ++i) texts.push_back("document number " + std::to_string(i) + "\n");
  Corpus c = make_corpus(texts, tok, {});
  auto as_set = [&](const TokenDocs& t) {
    std::set<std::string> s;
    for (int64_t d = 0; d < t.num_docs(); ++d) {
      std::vector<int32_t> ids(t.tokens.begin() + t.doc_start[d],
                               t.tokens.begin() + t.doc_start[d + 1]);
      s.insert(tok.decode(ids));
    }
    return s;
  };
  auto tr = as_set(c.train), ho = as_set(c.heldout);
  EXPECT_EQ(tr.size() + ho.size(), 400u);
  for (auto& h : ho) EXPECT_EQ(tr.count(h), 0u) << h;
  EXPECT_GE(ho.size(), 4u);  // ~3% of 400
  EXPECT_LE(ho.size(), 30u);
  // The same corpus splits the same way again.
  EXPECT_EQ(as_set(make_corpus(texts, tok, {}).heldout), ho);

  // Two documents: one is held out.
  Corpus two = make_corpus({"first doc\n", "second doc\n"}, tok, {});
  EXPECT_EQ(two.heldout.num_docs(), 1);
  EXPECT_EQ(two.train.num_docs(), 1);
  // One document: its tail is held out, and at least min_heldout_tokens of it.
  std::string text(1000, 'a');
  for (size_t i = 0; i < text.size(); ++i) text[i] = char('a' + i % 26);
  Corpus one = make_corpus({text}, tok, {0.03, 100});
  EXPECT_EQ(one.heldout.tokens.size(), 100u);
  EXPECT_EQ(one.train.tokens.size() + one.heldout.tokens.size(), 1000u);
  EXPECT_EQ(tok.decode(one.heldout.tokens), text.substr(900));
}

TEST(TrainPacking, RowsFollowDocumentsPositionsAndTargets) {
  TokenDocs docs = coded_docs({5, 3, 7, 1, 12, 4});  // 32 tokens
  PackedStream s(docs, 42);
  const int T = 4;
  Batch b;
  b.resize(1, T);
  std::multiset<int32_t> seen;
  for (int64_t g = 0; g < 8; ++g) {  // exactly one epoch
    s.fill_row(g, b, 0);
    for (int i = 0; i < T; ++i) {
      int32_t tok = b.tokens[i], d = tok / 1000, off = tok % 1000;
      seen.insert(tok);
      int len = docs.doc_len(d);
      EXPECT_EQ(b.targets[i], off + 1 < len ? tok + 1 : -1) << "row " << g << " col " << i;
      // Positions count from the document start, restarting at the row start.
      int32_t want = i == 0 || off == 0 ? 0 : b.positions[i - 1] + 1;
      EXPECT_EQ(b.positions[i], want);
      EXPECT_LE(b.positions[i], off);
    }
  }
  // One epoch covers every token exactly once.
  EXPECT_EQ(seen.size(), 32u);
  EXPECT_EQ(std::set<int32_t>(seen.begin(), seen.end()).size(), 32u);
}

TEST(TrainPacking, BatchesDependOnlyOnSeedAndStep) {
  TokenDocs docs = coded_docs({50, 31, 17, 70, 9, 44, 23, 61});
  PackedStream a(docs, 7), b(docs, 7), c(docs, 8);
  Batch x, y, z;
  // b visits the steps in another order (as a resumed run would): same rows.
  for (int64_t step : {3, 0, 9}) make_train_batch(b, step, 0, 1, 2, 16, y);
  make_train_batch(a, 9, 0, 1, 2, 16, x);
  EXPECT_EQ(x.tokens, y.tokens);
  EXPECT_EQ(x.targets, y.targets);
  EXPECT_EQ(x.positions, y.positions);
  make_train_batch(c, 9, 0, 1, 2, 16, z);
  EXPECT_NE(x.tokens, z.tokens);  // another seed, another order
  // Every epoch is a permutation of the documents, and epochs are shuffled differently.
  TokenDocs docs2 = coded_docs({50, 31, 17, 70, 9, 44, 23, 76});  // 320 tokens = 20 rows of 16
  PackedStream p(docs2, 7);
  auto doc_order = [&](int64_t first_row) {
    std::vector<int32_t> order;
    Batch r;
    r.resize(1, 16);
    for (int64_t g = first_row; g < first_row + 20; ++g) {
      p.fill_row(g, r, 0);
      for (int i = 0; i < 16; ++i)
        if (r.tokens[i] % 1000 == 0) order.push_back(r.tokens[i] / 1000);
    }
    return order;
  };
  auto o0 = doc_order(0), o1 = doc_order(20);
  ASSERT_EQ(o0.size(), 8u);
  EXPECT_EQ(std::set<int32_t>(o0.begin(), o0.end()).size(), 8u);
  EXPECT_EQ(std::set<int32_t>(o1.begin(), o1.end()).size(), 8u);
  EXPECT_NE(o0, o1);
}

TEST(TrainPacking, AccumulatedMicroBatchesAreTheRowsOfOneBigBatch) {
  TokenDocs docs = coded_docs({50, 31, 17, 70, 9, 44, 23, 61});
  PackedStream s(docs, 3);
  Batch big, m0, m1;
  make_train_batch(s, 5, 0, 1, 4, 8, big);
  make_train_batch(s, 5, 0, 2, 2, 8, m0);
  make_train_batch(s, 5, 1, 2, 2, 8, m1);
  std::vector<int32_t> cat = m0.tokens;
  cat.insert(cat.end(), m1.tokens.begin(), m1.tokens.end());
  EXPECT_EQ(cat, big.tokens);
  std::vector<int32_t> tcat = m0.targets;
  tcat.insert(tcat.end(), m1.targets.begin(), m1.targets.end());
  EXPECT_EQ(tcat, big.targets);
}

TEST(TrainPacking, HeldOutWindowsAreFixedAndPadded) {
  TokenDocs docs = coded_docs({5, 3});  // 8 tokens
  auto batches = make_heldout_batches(docs, 2, 6, 4);
  ASSERT_EQ(batches.size(), 1u);
  const Batch& b = batches[0];
  EXPECT_EQ(b.B, 2);
  // Row 0: doc0 (5 tokens) + doc1[0]; row 1: doc1[1..2] then padding.
  EXPECT_EQ(std::vector<int32_t>(b.tokens.begin(), b.tokens.begin() + 6),
            (std::vector<int32_t>{0, 1, 2, 3, 4, 1000}));
  EXPECT_EQ(std::vector<int32_t>(b.targets.begin(), b.targets.begin() + 6),
            (std::vector<int32_t>{1, 2, 3, 4, -1, 1001}));
  EXPECT_EQ(std::vector<int32_t>(b.positions.begin(), b.positions.begin() + 6),
            (std::vector<int32_t>{0, 1, 2, 3, 4, 0}));
  EXPECT_EQ(std::vector<int32_t>(b.targets.begin() + 6, b.targets.end()),
            (std::vector<int32_t>{1002, -1, -1, -1, -1, -1}));
  EXPECT_EQ(b.num_scored(), 6);
  // Capped at max_batches.
  TokenDocs big = coded_docs({500, 300});
  EXPECT_EQ(make_heldout_batches(big, 2, 16, 3).size(), 3u);
}

TEST(TrainSchedule, WarmupThenCosineToMinLr) {
  LrSchedule s{1e-3, 1e-4, 10, 110};
  EXPECT_DOUBLE_EQ(s.at(0), 1e-4);
  EXPECT_DOUBLE_EQ(s.at(4), 5e-4);
  EXPECT_DOUBLE_EQ(s.at(9), 1e-3);
  EXPECT_DOUBLE_EQ(s.at(10), 1e-3);
  EXPECT_NEAR(s.at(10 + 99 / 2.0), 5.5e-4, 1e-5);
  EXPECT_DOUBLE_EQ(s.at(109), 1e-4);
  EXPECT_DOUBLE_EQ(s.at(500), 1e-4);
  for (int64_t i = 10; i < 109; ++i) EXPECT_GT(s.at(i), s.at(i + 1));
  LrSchedule flat{2e-3, 1e-4, 0, 1};
  EXPECT_DOUBLE_EQ(flat.at(0), 2e-3);
}

TEST(TrainSchedule, ClipsByGlobalNorm) {
  std::vector<float> g = {3, 4};
  EXPECT_FLOAT_EQ(clip_grads(g.data(), 2, 5.0, 1.0), 0.2f);
  EXPECT_FLOAT_EQ(g[0], 0.6f);
  EXPECT_FLOAT_EQ(g[1], 0.8f);
  std::vector<float> h = {3, 4};
  EXPECT_EQ(clip_grads(h.data(), 2, 5.0, 10.0), 1.0f);
  EXPECT_EQ(clip_grads(h.data(), 2, 5.0, 0.0), 1.0f);
  EXPECT_EQ(h, (std::vector<float>{3, 4}));
}

}  // namespace still::train
