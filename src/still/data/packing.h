// Packs documents into fixed-size rows for training and evaluation.
//
// Training reads an endless stream: epoch e is the train documents in an order shuffled by
// (seed, e), concatenated. Global row g is the stream's tokens [g·T, (g+1)·T), so the rows of
// step s (rows g = (s·accum + micro)·B + r) depend only on the seed and the step — never on
// what ran before — which makes a resumed run read exactly what an uninterrupted one reads,
// and makes accum × B rows the same data as 1 × accum·B rows.
//
// In every row, positions restart at 0 where a document starts (and at the row start), and
// the target of a token is the next token of the same document, or -1 (not scored) where
// the next token belongs to another document or is one of its prompt tokens (TokenDocs).
#pragma once
#include <cstddef>  // batch.h uses size_t
#include <cstdint>
#include <map>
#include <vector>

#include "still/data/batch.h"
#include "still/data/corpus.h"

namespace still::train {

class PackedStream {
 public:
  PackedStream(const TokenDocs& docs, uint64_t seed);
  // Writes row `row` of `batch` (batch.T tokens) from global row index g.
  void fill_row(int64_t g, Batch& batch, int row);
  int64_t tokens_per_epoch() const { return epoch_tokens_; }

 private:
  struct Epoch {
    std::vector<int64_t> order;  // document ids in this epoch's order
    std::vector<int64_t> cum;    // cum[k] = tokens before the k-th document of the order
  };
  const Epoch& epoch(int64_t e);
  const TokenDocs& docs_;
  uint64_t seed_;
  int64_t epoch_tokens_;
  std::map<int64_t, Epoch> cache_;  // the few most recently used epochs
};

// Fills `batch` (B rows of T) with micro-batch `micro` of optimizer step `step`.
void make_train_batch(PackedStream& stream, int64_t step, int micro, int accum, int B, int T,
                      Batch& batch);

// The fixed held-out windows: held-out documents in corpus order packed into rows of T,
// at most max_batches batches of B rows (at least one row; padding rows are unscored).
std::vector<Batch> make_heldout_batches(const TokenDocs& heldout, int B, int T, int max_batches);

}  // namespace still::train
