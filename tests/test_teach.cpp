// `still teach` core: the stored signal equals the teacher's own top-k, and a rerun after
// lost or damaged shards recreates only those, ending with identical bytes.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>

#include "still/data/signal_dir.h"
#include "still/formats/tokenizer/tokenizer.h"
#include "still/io/atomic_file.h"
#include "still/teach/teach.h"
#include "still/teach/topk_collector.h"
#include "still/util/error.h"
#include "test_helpers.h"

namespace still {
namespace {

LlamaConfig tiny_teacher() {
  LlamaConfig c = LlamaConfig::preset("tiny");
  c.max_seq = 32;
  return c;
}

std::string write_corpus(const std::string& dir) {
  std::string text;
  for (int d = 0; d < 12; ++d) {
    for (int l = 0; l < 3; ++l)
      text += "the quick brown fox " + std::to_string(d * 7 + l) + " jumps\n";
    text += "\n";
  }
  std::string p = dir + "/corpus.txt";
  write_file_atomic(p, text);
  return p;
}

}  // namespace

TEST(Teach, StoresTheTeachersTopKAndResumesExactly) {
  TempDir d;
  LlamaModel model(tiny_teacher());
  model.init_random(1);
  ByteTokenizer tok;
  TeacherHandle th{&model, &tok, "random-tiny", "", std::string(64, '0')};
  TeachOptions opt;
  opt.data = write_corpus(d.path);
  opt.out = d.path + "/sig";
  opt.k = 8;
  opt.batch = 3;
  opt.windows_per_shard = 4;
  TeachResult r = run_teach(opt, th);
  EXPECT_GT(r.windows, 4);
  EXPECT_EQ(r.shards_written, (r.windows + 3) / 4);
  EXPECT_GT(r.bytes_per_entry, 0.0);

  SignalDir sig(opt.out);
  EXPECT_EQ(sig.meta().k, 8);
  EXPECT_EQ(sig.meta().teacher_vocab, 256);
  // Window 5's signal equals the top-k of the teacher's logits on that window, within the
  // quantisation step.
  Batch b;
  TeacherBuffers t;
  sig.fill({5}, b, t);
  std::vector<float> logits(size_t(b.T) * 256);
  model.forward_logits(b, logits.data());
  std::vector<int32_t> ids(8), scratch;
  std::vector<float> lp(8);
  float lt;
  int checked = 0;
  for (int p = 0; p < b.T; ++p) {
    TopKRow::extract(&logits[size_t(p) * 256], 256, 8, ids.data(), lp.data(), &lt, scratch);
    // The same top-k set; entries within a quantisation step may swap places.
    for (int i = 0; i < 8; ++i) {
      int32_t id = t.ids[size_t(p) * 8 + size_t(i)];
      auto it = std::find(ids.begin(), ids.end(), id);
      ASSERT_NE(it, ids.end()) << "position " << p << " id " << id;
      // Within the companded step at this entry's distance below the top-1 (signal_codec.h).
      double delta = double(lp[0]) - double(lp[size_t(it - ids.begin())]);
      EXPECT_NEAR(t.logp[size_t(p) * 8 + size_t(i)], lp[size_t(it - ids.begin())],
                  opt.logp_step * (1.0 + delta / 0.25) + 1e-3);
    }
    EXPECT_NEAR(t.log_tail[size_t(p)], lt, 0.01);
    ++checked;
  }
  EXPECT_EQ(checked, b.T);

  // Lose one shard, damage another: the rerun recreates exactly those, byte for byte.
  std::string s0 = opt.out + "/" + sig.meta().shard_name(0);
  std::string s1 = opt.out + "/" + sig.meta().shard_name(1);
  std::string b0 = read_file(s0), b1 = read_file(s1);
  std::filesystem::remove(s0);
  std::string bad = b1;
  bad[bad.size() / 3] ^= 0x10;
  write_file_atomic(s1, bad);
  TeachResult r2 = run_teach(opt, th);
  EXPECT_EQ(r2.shards_written, 2);
  EXPECT_EQ(r2.shards_kept, r.shards_written - 2);
  EXPECT_EQ(r2.teacher_nats_per_token, r.teacher_nats_per_token);  // kept shards count too
  EXPECT_EQ(read_file(s0), b0);
  EXPECT_EQ(read_file(s1), b1);
  EXPECT_NO_THROW(SignalDir again(opt.out));

  // Other settings into the same directory are refused.
  opt.k = 4;
  EXPECT_THROW(run_teach(opt, th), Error);
}

}  // namespace still
