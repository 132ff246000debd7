#include "still/data/packing.h"

#include <algorithm>

#include "still/util/error.h"
#include "still/util/rng.h"

namespace still::train {
namespace {
constexpr uint64_t kShuffleSalt = 0x73687566666c65ULL;  // "shuffle"
}

PackedStream::PackedStream(const TokenDocs& docs, uint64_t seed)
    : docs_(docs), seed_(seed), epoch_tokens_(int64_t(docs.tokens.size())) {
  require(docs.num_docs() > 0 && epoch_tokens_ > 1,
          "no training text left after the held-out split");
}

const PackedStream::Epoch& PackedStream::epoch(int64_t e) {
  auto it = cache_.find(e);
  if (it != cache_.end()) return it->second;
  if (cache_.size() >= 3) cache_.erase(cache_.begin());
  Epoch ep;
  const int64_t n = docs_.num_docs();
  ep.order.resize(size_t(n));
  for (int64_t i = 0; i < n; ++i) ep.order[size_t(i)] = i;
  Rng rng(mix_seed(seed_, uint64_t(e), kShuffleSalt));
  for (int64_t i = n - 1; i > 0; --i)
    std::swap(ep.order[size_t(i)], ep.order[rng.below(uint64_t(i) + 1)]);
  ep.cum.resize(size_t(n) + 1);
  ep.cum[0] = 0;
  for (int64_t k = 0; k < n; ++k)
    ep.cum[size_t(k) + 1] = ep.cum[size_t(k)] + docs_.doc_len(ep.order[size_t(k)]);
  return cache_.emplace(e, std::move(ep)).first->second;
}

void PackedStream::fill_row(int64_t g, Batch& batch, int row) {
  const int T = batch.T;
  const int64_t start = g * int64_t(T);
  int64_t e = start / epoch_tokens_;
  int64_t w = start % epoch_tokens_;
  const Epoch* ep = &epoch(e);
  int64_t k = int64_t(std::upper_bound(ep->cum.begin(), ep->cum.end(), w) - ep->cum.begin()) - 1;
  int64_t off = w - ep->cum[size_t(k)];
  const int64_t n = docs_.num_docs();
  int32_t* tok = batch.tokens.data() + size_t(row) * T;
  int32_t* tgt = batch.targets.data() + size_t(row) * T;
  int32_t* pos = batch.positions.data() + size_t(row) * T;
  int32_t p = 0;
  for (int i = 0; i < T; ++i) {
    int64_t d = ep->order[size_t(k)];
    int64_t len = docs_.doc_len(d);
    const int32_t* doc = docs_.tokens.data() + docs_.doc_start[size_t(d)];
    if (off == 0) p = 0;
    tok[i] = doc[off];
    pos[i] = p++;
    tgt[i] = off + 1 < len && off + 1 >= docs_.doc_prompt(d) ? doc[off + 1] : -1;
    if (++off == len) {
      off = 0;
      if (++k == n) {
        k = 0;
        ep = &epoch(++e);
      }
    }
  }
}

void make_train_batch(PackedStream& stream, int64_t step, int micro, int accum, int B, int T,
                      Batch& batch) {
  if (batch.B != B || batch.T != T) batch.resize(B, T);
  const int64_t first = (step * accum + micro) * int64_t(B);
  for (int r = 0; r < B; ++r) stream.fill_row(first + r, batch, r);
}

std::vector<Batch> make_heldout_batches(const TokenDocs& heldout, int B, int T, int max_batches) {
  const int64_t total = int64_t(heldout.tokens.size());
  require(total > 0, "the held-out split is empty");
  int64_t rows = std::min<int64_t>((total + T - 1) / T, int64_t(std::max(1, max_batches)) * B);
  std::vector<Batch> out;
  int64_t d = 0, off = 0, done = 0;
  for (int64_t r0 = 0; r0 < rows; r0 += B) {
    Batch b;
    b.resize(B, T);  // padding stays token 0, target -1, position 0
    for (int r = 0; r < B && r0 + r < rows; ++r) {
      int32_t p = 0;
      for (int i = 0; i < T && done < total; ++i, ++done) {
        int64_t len = heldout.doc_len(d);
        const int32_t* doc = heldout.tokens.data() + heldout.doc_start[size_t(d)];
        size_t at = size_t(r) * T + size_t(i);
        if (off == 0 || i == 0) p = 0;
        b.tokens[at] = doc[off];
        b.positions[at] = p++;
        b.targets[at] = off + 1 < len && off + 1 >= heldout.doc_prompt(d) ? doc[off + 1] : -1;
        if (++off == len) off = 0, ++d;
      }
    }
    out.push_back(std::move(b));
  }
  return out;
}

}  // namespace still::train
