// LlamaModel against our float64 PyTorch reference (tests/torch_ref/llama_ref.py): logits,
// loss, every parameter gradient, and the weights after 3 AdamW steps, for several model
// variants (MHA/GQA/MQA, tied/untied, qkv bias, q/k norm, head_dim != dim/heads, llama3
// RoPE scaling, odd ffn_dim), on a batch with a document boundary and masked targets.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <map>
#include <string>
#include <vector>

#include "llama_test_helpers.h"
#include "still/formats/safetensors.h"
#include "still/model/llama.h"
#include "still/train/adamw.h"
#include "still/util/error.h"
#include "test_helpers.h"

namespace still {
namespace {

using testing::init_wide;
using testing::make_batch;
using testing::make_config;
using testing::Variant;

constexpr int kAdamSteps = 3;
constexpr float kLr = 1e-3f;

struct Reference {
  std::map<std::string, std::vector<double>> t;
  const std::vector<double>& at(const std::string& name) const {
    auto it = t.find(name);
    if (it == t.end()) throw Error("reference output lacks " + name);
    return it->second;
  }
};

// Writes parameters + batch, runs the PyTorch reference, reads its F64 results.
Reference run_reference(const LlamaModel& m, const Batch& b, const AdamWConfig& ac,
                        const std::string& dir) {
  std::vector<SafetensorsWriteEntry> in;
  for (auto& t : m.layout().tensors())
    in.push_back({t.name, DType::kF32, t.shape, m.params() + t.offset});
  const std::vector<int64_t> bt = {b.B, b.T};
  in.push_back({"batch.tokens", DType::kI32, bt, b.tokens.data()});
  in.push_back({"batch.targets", DType::kI32, bt, b.targets.data()});
  in.push_back({"batch.positions", DType::kI32, bt, b.positions.data()});
  nlohmann::json adam = {{"lr", kLr},
                         {"beta1", ac.beta1},
                         {"beta2", ac.beta2},
                         {"eps", ac.eps},
                         {"weight_decay", ac.weight_decay},
                         {"steps", kAdamSteps}};
  const std::string in_path = dir + "/in.safetensors", out_path = dir + "/out.safetensors";
  write_safetensors(in_path, in,
                    {{"config", m.config().to_hf_json().dump()}, {"adamw", adam.dump()}});
  std::string output;
  const std::string cmd = "/usr/bin/python3 " + source_dir() + "/tests/torch_ref/llama_ref.py " +
                          in_path + " " + out_path;
  const int rc = run_command(cmd, &output);
  if (rc != 0) throw Error("PyTorch reference failed (" + cmd + "):\n" + output);
  SafetensorsFile f(out_path);
  Reference r;
  for (auto& e : f.tensors()) {
    if (e.dtype != DType::kF64) throw Error("reference: " + e.name + " is not F64");
    std::vector<double> v(size_t(e.numel()));
    std::memcpy(v.data(), f.data(e), v.size() * sizeof(double));
    r.t[e.name] = std::move(v);
  }
  return r;
}

struct Err {
  double norm = 0;  // ‖a − ref‖ / ‖ref‖
  double elem = 0;  // max |a − ref| / |ref| over elements with |ref| >= 1e-3·max|ref|
};

Err compare(const float* a, const std::vector<double>& ref) {
  double num = 0, den = 0, mx = 0;
  for (size_t i = 0; i < ref.size(); ++i) {
    num += (a[i] - ref[i]) * (a[i] - ref[i]);
    den += ref[i] * ref[i];
    mx = std::max(mx, std::abs(ref[i]));
  }
  Err e;
  e.norm = den > 0 ? std::sqrt(num / den) : std::sqrt(num);
  for (size_t i = 0; i < ref.size(); ++i)
    if (std::abs(ref[i]) >= 1e-3 * mx && mx > 0)
      e.elem = std::max(e.elem, std::abs(a[i] - ref[i]) / std::abs(ref[i]));
  return e;
}

void check_against_torch(const Variant& v) {
  SCOPED_TRACE(v.name);
  const LlamaConfig cfg = make_config(v);
  LlamaModel m(cfg);
  init_wide(m, 31);
  m.set_loss_chunk_rows(13);  // B·T = 40 rows: the fused LM head + loss runs in 4 chunks
  const Batch b = make_batch(2, 20, v.vocab, 32);
  const std::vector<float> init(m.params(), m.params() + m.num_params_flat());
  AdamWConfig ac;  // betas 0.9/0.95, eps 1e-8, weight decay 0.1

  TempDir dir;
  const Reference ref = run_reference(m, b, ac, dir.path);

  // Logits and loss.
  std::vector<float> logits(size_t(b.B * b.T) * size_t(v.vocab));
  m.forward_logits(b, logits.data());
  const Err le = compare(logits.data(), ref.at("logits"));
  EXPECT_LT(le.norm, 1e-6) << "logits";
  const float scale = 1.0f / float(b.num_scored());
  m.zero_grads();
  const LossStats s = m.forward_backward(b, scale);
  EXPECT_NEAR(s.mean(), ref.at("loss")[0], 1e-6 * ref.at("loss")[0]);

  // Every gradient.
  double worst_norm = 0, worst_elem = 0;
  for (auto& t : m.layout().tensors()) {
    const Err e = compare(m.grads() + t.offset, ref.at("grad." + t.name));
    EXPECT_LT(e.norm, 1e-5) << "grad " << t.name;
    // fp32 rounding of sums over rows: ~1e-4 relative for elements at 1e-3·max.
    EXPECT_LT(e.elem, 1e-3) << "grad " << t.name << " (elementwise)";
    worst_norm = std::max(worst_norm, e.norm);
    worst_elem = std::max(worst_elem, e.elem);
  }

  // Weights after 3 AdamW steps on the same batch, loss = mean over scored tokens.
  std::memcpy(m.params(), init.data(), init.size() * sizeof(float));
  AdamW opt(m.layout(), ac);
  for (int step = 0; step < kAdamSteps; ++step) {
    m.zero_grads();
    m.forward_backward(b, scale);
    opt.step(m.params(), m.grads(), kLr);
  }
  // Adam moves every weight by about lr·sign(g) whatever |g| is, so a weight whose gradient
  // is below fp32 resolution (|g| < 1e-6·max|g| of its tensor; its sign is rounding noise)
  // can legitimately move the other way. Such weights are left out of the comparison, and
  // they must be rare.
  double worst_adam = 0;
  size_t unresolved = 0;
  for (auto& t : m.layout().tensors()) {
    const auto& g = ref.at("grad." + t.name);
    double gmax = 0;
    for (double x : g) gmax = std::max(gmax, std::abs(x));
    std::vector<double> w_ref = ref.at("adamw." + t.name);
    std::vector<float> w(m.params() + t.offset, m.params() + t.offset + t.numel);
    for (size_t i = 0; i < t.numel; ++i)
      if (g[i] != 0 && std::abs(g[i]) < 1e-6 * gmax) {
        w[i] = float(w_ref[i]);
        ++unresolved;
      }
    const Err e = compare(w.data(), w_ref);
    EXPECT_LT(e.norm, 1e-5) << "weights after AdamW " << t.name;
    worst_adam = std::max(worst_adam, e.norm);
  }
  EXPECT_LE(unresolved, m.num_params_flat() / 1000);
  std::printf(
      "[ torch    ] %-24s logits %.1e  grad norm %.1e  grad elem %.1e  adamw %.1e (%zu "
      "unresolved)\n",
      v.name.c_str(), le.norm, worst_norm, worst_elem, worst_adam, unresolved);
}

TEST(LlamaTorch, MhaUntied) { check_against_torch({.name = "mha-untied"}); }

TEST(LlamaTorch, GqaTied) {
  check_against_torch({.name = "gqa-tied", .n_kv_heads = 2, .tied = true});
}

TEST(LlamaTorch, MqaQkvBiasQkNormLlama3Rope) {
  check_against_torch({.name = "mqa-bias-qknorm-llama3",
                       .n_kv_heads = 1,
                       .qkv_bias = true,
                       .qk_norm = true,
                       .llama3_rope = true});
}

TEST(LlamaTorch, Qwen3ShapeHeadDimNotDimOverHeads) {
  // head_dim 16 with dim 32 and 4 heads (q_dim 64 != dim), as Qwen3 allows; tied, GQA.
  check_against_torch({.name = "qwen3-shape",
                       .n_layers = 3,
                       .n_kv_heads = 2,
                       .head_dim = 16,
                       .tied = true,
                       .qkv_bias = true,
                       .qk_norm = true});
}

}  // namespace
}  // namespace still
