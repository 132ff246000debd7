#include <gtest/gtest.h>

#include "still/data/corpus.h"
#include "still/data/corpus_split.h"
#include "still/io/atomic_file.h"
#include "still/util/error.h"
#include "test_train_helpers.h"

namespace still {

TEST(CorpusSplit, DisjointCompleteAndDeterministic) {
  TempDir d;
  std::string corpus = write_corpus(d.path, 300);
  auto parts = train::split_corpus(corpus, d.path + "/a", {{"t", 0.6}, {"s", 0.3}, {"h", 0.1}});
  train::split_corpus(corpus, d.path + "/b", {{"t", 0.6}, {"s", 0.3}, {"h", 0.1}});
  int64_t total = 0;
  for (auto& p : parts) {
    total += p.documents;
    EXPECT_EQ(read_file(d.path + "/a/" + p.name + ".txt"),
              read_file(d.path + "/b/" + p.name + ".txt"));
  }
  auto all = train::split_documents(read_file(corpus), false, corpus);
  EXPECT_EQ(total, int64_t(all.size()));
  EXPECT_NEAR(double(parts[0].documents) / double(total), 0.6, 0.08);
  // Every document lands in exactly one part: the parts' documents add up to the corpus's.
  size_t n = 0;
  for (auto& p : parts)
    n += train::split_documents(read_file(d.path + "/a/" + p.name + ".txt"), false, "x").size();
  EXPECT_EQ(n, all.size());
  EXPECT_THROW(train::split_corpus(corpus, d.path + "/c", {{"t", 0.6}, {"s", 0.3}}), Error);
  EXPECT_THROW(train::split_corpus(d.path + "/missing.txt", d.path + "/c", {{"t", 1.0}}), Error);
}

}  // namespace still
