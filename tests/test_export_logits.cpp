// Export -> load -> the engine's logits: identical for f32, within each dtype's tolerance
// otherwise, for HF and GGUF and every model flavour (MHA/GQA/MQA, tied/untied,
// Llama/Mistral/Qwen2/Qwen3, rope scaling).
#include <gtest/gtest.h>

#include <cmath>

#include "formats_fixtures.h"
#include "still/model/llama.h"
#include "still/modelio/export.h"
#include "still/modelio/load.h"
#include "test_helpers.h"

namespace still {
namespace {

std::vector<float> logits_of(LlamaModel& m) {
  Batch b;
  b.resize(2, 12);
  for (int i = 0; i < 24; ++i) {
    b.tokens[size_t(i)] = (i * 37 + 11) % m.config().vocab_size;
    b.positions[size_t(i)] = i % 12;
  }
  std::vector<float> out(size_t(24) * m.config().vocab_size);
  m.forward_logits(b, out.data());
  return out;
}

// Largest |a - b| relative to the spread of the reference logits.
double max_rel_diff(const std::vector<float>& a, const std::vector<float>& b) {
  double scale = 0, d = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    scale = std::max(scale, double(std::fabs(a[i])));
    d = std::max(d, double(std::fabs(a[i] - b[i])));
  }
  return d / scale;
}

TEST(ExportLogits, RoundTripsKeepTheLogits) {
  // Tolerances relative to the largest logit, per stored dtype.
  const std::vector<std::pair<std::string, double>> dtypes = {
      {"f32", 0}, {"f16", 2e-3}, {"bf16", 2e-2}, {"q8_0", 2e-2}};
  for (auto& [name, c] : fixtures::flavours()) {
    LlamaModel m(c);
    auto p = fixtures::random_params(c, 42);
    std::copy(p.begin(), p.end(), m.params());
    const auto want = logits_of(m);
    for (auto& [dtype, tol] : dtypes) {
      for (std::string format : {"hf", "gguf"}) {
        if (format == "hf" && dtype == "q8_0") continue;
        SCOPED_TRACE(name + " " + format + " " + dtype);
        TempDir dir;
        std::string out = dir.path + (format == "hf" ? "/hf" : "/m.gguf");
        ExportOptions o;
        o.dtype = dtype;
        if (format == "hf")
          export_hf(c, m.params(), out, o);
        else
          export_gguf(c, m.params(), out, o);
        auto back = load_model(out);
        const auto got = logits_of(*back);
        double rel = max_rel_diff(want, got);
        if (tol == 0)
          EXPECT_EQ(want, got);
        else
          EXPECT_LE(rel, tol);
        EXPECT_GT(rel + (tol == 0), 0.0);  // lossy dtypes really were lossy (sanity)
      }
    }
  }
}

// A model loaded from a file the user never exported through still (sharded HF folder with
// bf16 weights) gives the same logits as the in-memory original, to bf16 precision.
TEST(ExportLogits, ShardedBf16FolderLoads) {
  auto [name, c] = fixtures::flavours()[4];  // Qwen3: head_dim != dim / heads, q/k norm
  LlamaModel m(c);
  auto p = fixtures::random_params(c, 43);
  std::copy(p.begin(), p.end(), m.params());
  TempDir dir;
  ExportOptions o;
  o.dtype = "bf16";
  o.max_shard_bytes = 50000;
  export_hf(c, m.params(), dir.path + "/hf", o);
  auto back = load_model(dir.path + "/hf");
  EXPECT_LE(max_rel_diff(logits_of(m), logits_of(*back)), 2e-2);
}

}  // namespace
}  // namespace still
