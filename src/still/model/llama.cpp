#include "still/model/llama.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <string>

#include "still/kernels/embedding.h"
#include "still/kernels/matmul_bf16.h"
#include "still/kernels/rmsnorm.h"
#include "still/kernels/rope.h"
#include "still/model/block.h"
#include "still/model/q8_weights.h"
#include "still/util/error.h"
#include "still/util/op_profile.h"
#include "still/util/rng.h"

namespace still {

namespace k = kernels;

namespace {

// Default rows per LM-head chunk: as many as fit this much memory of logits, in multiples
// of 64 rows, at least 64. Every chunk reads the whole LM head weight (fwd and dx) and reads
// and writes its gradient (dW): with few rows these passes, not the FLOPs, set the speed
// (stories15m, V = 32000: 256-row chunks cost ~6% of a step over unchunked, 1024 ~0%).
constexpr int64_t kLossChunkBytes = int64_t(128) << 20;

int default_loss_chunk_rows(int vocab) {
  const int64_t rows = kLossChunkBytes / (int64_t(sizeof(float)) * std::max(vocab, 1));
  return int(std::clamp<int64_t>(rows / 64 * 64, 64, int64_t(1) << 20));
}

LlamaConfig validated(const LlamaConfig& c) {
  c.validate();
  return c;
}

kernels::RopeScaling rope_scaling_of(const LlamaConfig& c) {
  kernels::RopeScaling s;
  const auto& j = c.rope_scaling;
  if (j.is_null()) return s;
  require(j.is_object(), "config: rope_scaling must be an object or null");
  auto num = [&](const char* key, double& out) {
    if (j.contains(key) && j[key].is_number()) out = j[key].get<double>();
  };
  if (j.contains("rope_type") && j["rope_type"].is_string())
    s.type = j["rope_type"].get<std::string>();
  else if (j.contains("type") && j["type"].is_string())
    s.type = j["type"].get<std::string>();
  num("factor", s.factor);
  num("low_freq_factor", s.low_freq_factor);
  num("high_freq_factor", s.high_freq_factor);
  num("original_max_position_embeddings", s.original_max_positions);
  return s;
}

// Checks a batch against the model before any kernel runs (kernels trust their inputs).
void check_batch(const Batch& b, const LlamaConfig& c) {
  require(b.B > 0 && b.T > 0, "batch: B and T must be positive (got B=", b.B, " T=", b.T, ")");
  const size_t n = size_t(b.B) * size_t(b.T);
  require(b.tokens.size() == n && b.targets.size() == n && b.positions.size() == n,
          "batch: tokens/targets/positions must each hold B*T = ", n, " entries");
  // Per token: the messages are passed in pieces so only a failing check builds one.
  for (size_t i = 0; i < n; ++i) {
    const int t = int(i % size_t(b.T));
    require(b.tokens[i] >= 0 && b.tokens[i] < c.vocab_size, "batch: token ", b.tokens[i],
            " at index ", i, " is outside the vocabulary of ", c.vocab_size);
    require(b.targets[i] >= -1 && b.targets[i] < c.vocab_size, "batch: target ", b.targets[i],
            " at index ", i, " is outside the vocabulary (or -1 for masked)");
    require(b.positions[i] >= 0 && b.positions[i] <= t, "batch: position ", b.positions[i],
            " at index ", i, " must be in [0, ", t, "] (a document cannot start before its row)");
  }
}

struct FreeDeleter {
  void operator()(float* p) const { std::free(p); }
};

}  // namespace

struct LlamaModel::Impl {
  int chunk_rows = 0;  // set by the constructor (default_loss_chunk_rows) or the caller
  Precision precision = Precision::kFp32;
  Bf16PackStore bf16_packs;  // bf16 copies of the matrices (bf16 training)
  int64_t bf16_refreshes = 0;
  // Matrices held quantized (a GGUF's Q8_0 tensors), or null.
  std::unique_ptr<QuantizedMatrices> quant;
  ModelWeights weights;       // fp32 / quantized handles: inference and fp32 training
  ModelWeights bf16_weights;  // the same with bf16 packs on every matrix
  ModelGrads grads;
  k::LinearScratch scratch;  // of this model's passes (never of decode, which brings its own)
  int64_t planned_rows = 0;  // B*T the buffer is planned for
  bool planned_bf16 = false;
  // Forward passes only (set_inference_only).
  bool inference_only = false;
  std::unique_ptr<float, FreeDeleter> buffer;
  size_t buffer_floats = 0;

  std::vector<float*> res;  // residual stream entering block l (res[L]: after the last)
  std::vector<BlockActs> layers;
  float *final_out = nullptr, *final_rstd = nullptr;
  // Backward scratch, reused by every block.
  BlockBackwardScratch d;
  float *d_res = nullptr, *d_final = nullptr;
  float* logits = nullptr;          // one chunk of [rows, V]
  uint16_t* final_out16 = nullptr;  // bf16 copy of one chunk of final_out (LM head input)

  std::vector<double> inv_freq;
  std::vector<float> rope_cos, rope_sin;  // [positions, head_dim/2]
  int rope_positions = 0;

  bool bf16() const { return precision == Precision::kBf16; }

  // Lays out every buffer for N = B*T rows starting at `base`; returns the floats needed.
  // Called once with nullptr to measure, then with the real allocation.
  size_t assign(float* base, const LlamaConfig& c, int64_t N) {
    size_t off = 0;
    auto take = [&](int64_t n) {
      float* p = base ? base + off : nullptr;
      off += (size_t(n) + 15) & ~size_t(15);  // 64-byte aligned slices
      return p;
    };
    const int64_t D = c.dim, Q = c.q_dim(), KV = c.kv_dim(), F = c.ffn_dim;
    const int64_t QKV = Q + 2 * KV, chunk = std::min<int64_t>(chunk_rows, N);
    const bool b16 = bf16();
    res.assign(size_t(c.n_layers) + 1, nullptr);
    layers.assign(size_t(c.n_layers), BlockActs{});
    res[0] = take(N * D);
    const size_t block_start = off;
    for (int l = 0; l < c.n_layers; ++l) {
      // Forward only: nothing is kept for a backward pass, so every block reuses the first
      // block's buffers, and the residual stream is updated in place (a block's last write
      // to it comes after its last read).
      if (inference_only) off = block_start;
      layers[size_t(l)] = assign_block_acts(base, off, c, N, b16);
      res[size_t(l) + 1] = inference_only ? res[0] : take(N * D);
    }
    final_out = take(N * D);
    final_rstd = take(N);
    final_out16 = b16 ? reinterpret_cast<uint16_t*>(take((chunk * D + 1) / 2)) : nullptr;
    if (inference_only) {
      d = {};
      d_res = d_final = nullptr;
      logits = take(chunk * c.vocab_size);
      return off;
    }
    d_res = take(N * D);
    d.d_x = take(N * D);
    d.d_qkv = take(N * QKV);
    d.d_att = take(N * Q);
    d.d_gu = take(N * 2 * F);
    d.d_hid = take(N * F);
    d_final = take(N * D);
    logits = take(chunk * c.vocab_size);
    return off;
  }

  // Plans the activation buffer for N rows; only grows (and plans again for bf16 copies).
  void plan(const LlamaConfig& c, int64_t N) {
    if (N <= planned_rows && planned_bf16 == bf16()) return;
    N = std::max(N, planned_rows);
    const size_t floats = assign(nullptr, c, N);
    const size_t bytes = (floats * sizeof(float) + 63) & ~size_t(63);
    buffer.reset(static_cast<float*>(std::aligned_alloc(64, bytes)));
    if (!buffer)
      throw Error("out of memory: the activation buffer for " + std::to_string(N) +
                  " tokens needs " + std::to_string(bytes >> 20) +
                  " MiB; use a smaller batch or sequence length");
    std::memset(buffer.get(), 0, bytes);  // fault the pages in once, here
    buffer_floats = floats;
    assign(buffer.get(), c, N);
    planned_rows = N;
    planned_bf16 = bf16();
  }

  void ensure_rope(const LlamaConfig& c, int n_pos) {
    if (n_pos <= rope_positions) return;
    const size_t half = size_t(c.head_dim / 2);
    rope_cos.resize(size_t(n_pos) * half);
    rope_sin.resize(size_t(n_pos) * half);
    k::rope_tables(inv_freq, 0, n_pos, rope_cos.data(), rope_sin.data());
    rope_positions = n_pos;
  }

  // The weights a training or evaluation pass computes with; in bf16 their packs are made
  // again first if the parameters changed (so once per optimizer step).
  const ModelWeights& begin_pass(bool& params_changed) {
    if (!bf16()) return weights;
    if (params_changed) {
      for (auto& p : bf16_packs) p->invalidate();
      ++bf16_refreshes;
    }
    params_changed = false;
    return bf16_weights;
  }

  void forward(const LlamaConfig& c, const ModelWeights& w, const Batch& batch);
  LossStats lm_head_loss(const LlamaConfig& c, const ModelWeights& w, float* dW, int64_t N,
                         LogitLoss& loss, bool want_grad, float grad_scale);
  void backward(const LlamaConfig& c, const ModelWeights& w, const Batch& batch);
};

void LlamaModel::Impl::forward(const LlamaConfig& c, const ModelWeights& w, const Batch& batch) {
  const int64_t N = int64_t(batch.B) * batch.T;
  BatchAttention attention(c, batch.B, batch.T, batch.positions.data());
  const RopeRows rope{rope_cos.data(), rope_sin.data(), batch.positions.data()};
  STILL_OP("embedding fwd", k::embedding_forward(res[0], w.embed, batch.tokens.data(), N));
  for (int l = 0; l < c.n_layers; ++l)
    block_forward(c, w.blocks[size_t(l)], layers[size_t(l)], res[size_t(l)], res[size_t(l) + 1], N,
                  rope, attention, l, scratch);
  STILL_OP("rmsnorm fwd", k::rmsnorm_forward(final_out, final_rstd, res[size_t(c.n_layers)],
                                             w.final_norm, N, c.dim, c.norm_eps));
}

// The LM head fused with the loss, a chunk of rows at a time: logits = h·Wᵀ, the loss turns
// them into dlogits in place, then dh = dlogits·W and dW += dlogitsᵀ·h.
LossStats LlamaModel::Impl::lm_head_loss(const LlamaConfig& c, const ModelWeights& w, float* dW,
                                         int64_t N, LogitLoss& loss, bool want_grad,
                                         float grad_scale) {
  const int D = c.dim, V = c.vocab_size;
  LossStats stats;
  for (int64_t r0 = 0; r0 < N; r0 += chunk_rows) {
    const int n = int(std::min<int64_t>(chunk_rows, N - r0));
    const float* h = final_out + r0 * D;
    const double mm_flops = 2.0 * n * V * D;
    STILL_MM("mm lm_head fwd", mm_flops,
             k::linear_forward(logits, h, final_out16, w.lm_head, nullptr, n, false, scratch));
    STILL_OP("loss", stats += loss.process(r0, n, V, logits, want_grad, grad_scale));
    if (!want_grad) continue;
    STILL_MM("mm lm_head bwd", 2 * mm_flops,
             k::linear_backward(d_final + r0 * D, dW, nullptr, logits, h, final_out16, w.lm_head, n,
                                false, scratch));
  }
  return stats;
}

void LlamaModel::Impl::backward(const LlamaConfig& c, const ModelWeights& w, const Batch& batch) {
  const int64_t N = int64_t(batch.B) * batch.T;
  const BatchAttention attention(c, batch.B, batch.T, batch.positions.data());
  const RopeRows rope{rope_cos.data(), rope_sin.data(), batch.positions.data()};
  // d_res carries dL/d(residual stream) down through the blocks.
  STILL_OP("rmsnorm bwd",
           k::rmsnorm_backward(d_res, grads.final_norm, d_final, res[size_t(c.n_layers)],
                               w.final_norm, final_rstd, N, c.dim, false));
  for (int l = c.n_layers - 1; l >= 0; --l)
    block_backward(c, w.blocks[size_t(l)], grads.blocks[size_t(l)], layers[size_t(l)],
                   res[size_t(l)], d_res, N, rope, attention, d, scratch);
  // With tied embeddings this adds to the LM head's gradient already in the same slice.
  STILL_OP("embedding bwd",
           k::embedding_backward(grads.embed, d_res, batch.tokens.data(), N, c.dim, c.vocab_size));
}

LlamaModel::LlamaModel(const LlamaConfig& config)
    : config_(validated(config)),
      layout_(config_),
      params_(layout_.total()),
      grads_(layout_.total()),
      impl_(std::make_unique<Impl>()) {
  impl_->chunk_rows = default_loss_chunk_rows(config_.vocab_size);
  impl_->inv_freq =
      k::rope_inv_freq(config_.head_dim, double(config_.rope_theta), rope_scaling_of(config_));
  impl_->weights = model_weights(config_, layout_, params_.data(), nullptr, nullptr);
  impl_->bf16_weights =
      model_weights(config_, layout_, params_.data(), nullptr, &impl_->bf16_packs);
  impl_->grads = model_grads(config_, layout_, grads_.data());
}

LlamaModel::~LlamaModel() = default;

void LlamaModel::init_random(uint64_t seed) {
  const double std_dev = 0.02;
  const double out_scale = 1.0 / std::sqrt(2.0 * config_.n_layers);
  const auto& tensors = layout_.tensors();
  for (size_t ti = 0; ti < tensors.size(); ++ti) {
    const ParamInfo& t = tensors[ti];
    float* p = params_.data() + t.offset;
    if (t.shape.size() == 1) {  // norms get ones, biases zeros
      const bool bias = t.name.size() >= 4 && t.name.compare(t.name.size() - 4, 4, "bias") == 0;
      std::fill(p, p + t.numel, bias ? 0.0f : 1.0f);
      continue;
    }
    const bool out_proj =
        t.name.find("o_proj") != std::string::npos || t.name.find("down_proj") != std::string::npos;
    const double sd = out_proj ? std_dev * out_scale : std_dev;
    // One RNG stream per (tensor, chunk): the same values for any thread count.
    constexpr int64_t kChunk = 1 << 16;
    const int64_t chunks = (int64_t(t.numel) + kChunk - 1) / kChunk;
#pragma omp parallel for schedule(static)
    for (int64_t ch = 0; ch < chunks; ++ch) {
      Rng rng(mix_seed(seed, ti, uint64_t(ch)));
      const int64_t end = std::min<int64_t>(int64_t(t.numel), (ch + 1) * kChunk);
      for (int64_t i = ch * kChunk; i < end; ++i) p[i] = float(sd * rng.normal());
    }
  }
}

void LlamaModel::zero_grads() {
  STILL_OP_SCOPE("zero grads");
  float* g = grads_.data();
  const int64_t n = int64_t(grads_.size());
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < n; ++i) g[i] = 0.0f;
}

LossStats LlamaModel::forward_backward(const Batch& batch, LogitLoss& loss, float grad_scale) {
  require(!impl_->quant,
          "this model's weights are held quantized (Q8_0) for inference only and cannot be "
          "trained: load it dequantized (e.g. still teach --dequantize) or train from f32 weights");
  require(!impl_->inference_only,
          "internal: forward_backward on a model set up for inference only");
  check_batch(batch, config_);
  const int64_t N = int64_t(batch.B) * batch.T;
  impl_->plan(config_, N);
  impl_->ensure_rope(config_, batch.T);
  const ModelWeights& w = impl_->begin_pass(params_changed_);
  impl_->forward(config_, w, batch);
  LossStats s = impl_->lm_head_loss(config_, w, impl_->grads.lm_head, N, loss, true, grad_scale);
  impl_->backward(config_, w, batch);
  return s;
}

LossStats LlamaModel::forward_backward(const Batch& batch, float grad_scale) {
  CrossEntropyLoss ce(batch);
  return forward_backward(batch, ce, grad_scale);
}

LossStats LlamaModel::forward_loss(const Batch& batch, LogitLoss& loss) {
  check_batch(batch, config_);
  const int64_t N = int64_t(batch.B) * batch.T;
  impl_->plan(config_, N);
  impl_->ensure_rope(config_, batch.T);
  const ModelWeights& w = impl_->begin_pass(params_changed_);
  impl_->forward(config_, w, batch);
  return impl_->lm_head_loss(config_, w, nullptr, N, loss, false, 0.0f);
}

LossStats LlamaModel::forward_loss(const Batch& batch) {
  CrossEntropyLoss ce(batch);
  return forward_loss(batch, ce);
}

void LlamaModel::forward_logits(const Batch& batch, float* logits) {
  check_batch(batch, config_);
  const int64_t N = int64_t(batch.B) * batch.T;
  impl_->plan(config_, N);
  impl_->ensure_rope(config_, batch.T);
  const ModelWeights& w = impl_->begin_pass(params_changed_);
  impl_->forward(config_, w, batch);
  std::vector<uint16_t> h16(w.lm_head.bf16 ? size_t(N) * size_t(config_.dim) : 0);
  k::linear_forward(logits, impl_->final_out, h16.data(), w.lm_head, nullptr, N, false,
                    impl_->scratch);
}

void LlamaModel::set_quantized_weights(std::shared_ptr<const Q8Weights> q8) {
  Impl& m = *impl_;
  m.quant = q8 ? quantized_matrices(config_, layout_, std::move(q8)) : nullptr;
  m.weights = model_weights(config_, layout_, params_.data(), m.quant.get(), nullptr);
  m.bf16_weights = model_weights(config_, layout_, params_.data(), m.quant.get(), &m.bf16_packs);
}

bool LlamaModel::has_quantized_weights() const { return impl_->quant != nullptr; }

void LlamaModel::set_dequant_scratch_limit(size_t floats) {
  impl_->scratch.set_dequant_limit(floats);
}

const ModelWeights& LlamaModel::weights() const { return impl_->weights; }

void LlamaModel::set_inference_only() {
  if (impl_->inference_only) return;
  impl_->inference_only = true;
  impl_->planned_rows = 0;  // plan again, smaller, on the next batch
  impl_->buffer.reset();
  impl_->buffer_floats = 0;
}

size_t LlamaModel::weight_bytes() const {
  size_t floats = 0;
  for (const auto& t : layout_.tensors()) floats += t.numel;
  const QuantizedMatrices* q = impl_->quant.get();
  return q ? (floats - q->floats_held) * sizeof(float) + q->bytes : floats * sizeof(float);
}

size_t LlamaModel::activation_bytes() const {
  size_t packs = 0;
  for (const auto& p : impl_->bf16_packs) packs += p->bytes();
  return impl_->buffer_floats * sizeof(float) + impl_->scratch.bytes() + packs;
}

void LlamaModel::set_precision(Precision p) {
  require_precision_supported(p);
  impl_->precision = p;
  params_changed_ = true;
}

Precision LlamaModel::precision() const { return impl_->precision; }

int64_t LlamaModel::bf16_weight_refreshes() const { return impl_->bf16_refreshes; }

void LlamaModel::set_loss_chunk_rows(int rows) {
  require(rows > 0, "loss chunk rows must be positive (got " + std::to_string(rows) + ")");
  if (rows == impl_->chunk_rows) return;
  impl_->chunk_rows = rows;
  impl_->planned_rows = 0;  // the logits chunk changes size: plan again on the next batch
}

int LlamaModel::loss_chunk_rows() const { return impl_->chunk_rows; }

const std::vector<double>& LlamaModel::rope_inv_freq() const { return impl_->inv_freq; }

}  // namespace still
