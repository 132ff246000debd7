// Storage of the teacher signal against what it loses: bytes per stored entry vs the
// quantisation error, for k = 16, 64, 128 and several log-probability steps, on a real
// teacher's and student's logits over a corpus.
// usage: signal_storage TEACHER STUDENT CORPUS [windows=16]
//   TEACHER, STUDENT: models (run/checkpoint dirs, HF folders, GGUF); CORPUS: text file.
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "still/data/corpus.h"
#include "still/data/packing.h"
#include "still/io/atomic_file.h"
#include "still/modelio/open_model.h"
#include "still/teach/signal_quality.h"

int main(int argc, char** argv) {
  if (argc < 4) {
    std::fprintf(stderr, "usage: signal_storage TEACHER STUDENT CORPUS [windows=16]\n");
    return 2;
  }
  const int windows = argc > 4 ? std::atoi(argv[4]) : 16;
  auto teacher = still::open_model(argv[1]);
  auto student = still::open_model(argv[2]);
  const int V = teacher.model->config().vocab_size;
  if (student.model->config().vocab_size != V) {
    std::fprintf(stderr, "teacher and student vocabularies differ\n");
    return 1;
  }
  const int T = std::min(teacher.model->config().max_seq, student.model->config().max_seq);
  auto docs = still::train::split_documents(still::read_file(argv[3]), false, argv[3]);
  still::train::TokenDocs all;
  for (auto& d : docs) all.add(teacher.tokenizer->encode(d));
  auto rows = still::train::make_heldout_batches(all, 1, T, windows);
  std::vector<float> tl, sl, buf(size_t(T) * V);
  for (auto& b : rows) {
    teacher.model->forward_logits(b, buf.data());
    tl.insert(tl.end(), buf.begin(), buf.end());
    student.model->forward_logits(b, buf.data());
    sl.insert(sl.end(), buf.begin(), buf.end());
  }
  const int64_t n = int64_t(rows.size()) * T;
  std::printf("# %lld positions, V=%d; error = mean |KL(p_stored||q) - KL(p_topk||q)| nats/token\n",
              (long long)n, V);
  std::printf("%4s %10s %12s %10s %14s %14s %10s\n", "k", "step", "B/position", "B/entry",
              "quant error", "trunc error", "KL full");
  for (int k : {16, 64, 128}) {
    if (k > V) continue;
    for (float step : {1.0f / 16, 1.0f / 64, 1.0f / 128, 1.0f / 256, 1.0f / 512}) {
      auto q = still::measure_signal_quality(tl.data(), sl.data(), n, V, k, step);
      std::printf("%4d %10.4f %12.2f %10.3f %14.2e %14.2e %10.4f\n", k, step, q.bytes_per_position,
                  q.bytes_per_entry, q.quant_error, q.trunc_error, q.kl_full);
    }
  }
  return 0;
}
