// The signal's storage budget on real teacher output: a teacher trained by `still train`,
// a student, and the default quantisation: ≤ 1.5 bytes per entry at ≤ 1e-3 nats/token of
// added KL error; a coarser step costs more error (the measurement can see quantisation).
#include <gtest/gtest.h>

#include "still/data/corpus.h"
#include "still/data/packing.h"
#include "still/io/atomic_file.h"
#include "still/modelio/open_model.h"
#include "still/teach/signal_quality.h"
#include "still/teach/teach.h"
#include "test_train_helpers.h"

namespace still {

TEST(SignalQuality, DefaultQuantisationMeetsTheBudgetOnATrainedTeacher) {
  TempDir d;
  std::string corpus = write_corpus(d.path, 150);
  write_file_atomic(d.path + "/t.json",
                    R"({"dim": 48, "n_layers": 2, "n_heads": 4, "n_kv_heads": 2, "ffn_dim": 128,
                        "vocab_size": 256, "max_seq": 64, "tied_embeddings": true})");
  std::string out;
  ASSERT_EQ(run_command(still_cmd() + " train --data " + corpus + " --config " + d.path +
                            "/t.json --steps 60 --batch 8 --lr 3e-3 --threads 2 --out " + d.path +
                            "/teacher",
                        &out),
            0)
      << out;
  OpenedModel teacher = open_model(d.path + "/teacher");
  LlamaConfig sc = LlamaConfig::preset("tiny");
  sc.max_seq = 64;
  LlamaModel student(sc);
  student.init_random(7);
  auto docs = train::split_documents(read_file(corpus), false, corpus);
  train::TokenDocs all;
  for (auto& doc : docs) all.add(teacher.tokenizer->encode(doc));
  auto rows = train::make_heldout_batches(all, 1, 64, 12);
  std::vector<float> tl, sl, buf(64 * 256);
  for (auto& b : rows) {
    teacher.model->forward_logits(b, buf.data());
    tl.insert(tl.end(), buf.begin(), buf.end());
    student.forward_logits(b, buf.data());
    sl.insert(sl.end(), buf.begin(), buf.end());
  }
  const int64_t n = int64_t(rows.size()) * 64;
  TeachOptions defaults;
  for (int k : {16, 64}) {
    auto q = measure_signal_quality(tl.data(), sl.data(), n, 256, k, defaults.logp_step);
    EXPECT_LE(q.bytes_per_entry, 1.5) << "k=" << k;
    EXPECT_LE(q.quant_error, 1e-3) << "k=" << k;
    EXPECT_GT(q.trunc_error, q.quant_error * 0.1) << "k=" << k;
    auto coarse = measure_signal_quality(tl.data(), sl.data(), n, 256, k, 0.5f);
    EXPECT_GT(coarse.quant_error, q.quant_error) << "k=" << k;
  }
}

}  // namespace still
