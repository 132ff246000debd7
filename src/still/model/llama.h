// LlamaModel: an explicit CPU training engine for Llama-family decoders. Each op has a
// forward and a hand-written backward; activations live in one buffer planned for the
// largest batch; matmuls go through one interface (kernels/matmul.h).
#pragma once
#include <cstdint>
#include <memory>
#include <vector>

#include "still/data/batch.h"
#include "still/kernels/precision.h"
#include "still/model/config.h"
#include "still/model/logit_loss.h"
#include "still/model/params.h"
#include "still/model/weights.h"
#include "still/tensor/zero_floats.h"

namespace still {

class Q8Weights;

class LlamaModel {
 public:
  explicit LlamaModel(const LlamaConfig& config);
  ~LlamaModel();
  LlamaModel(const LlamaModel&) = delete;
  LlamaModel& operator=(const LlamaModel&) = delete;

  const LlamaConfig& config() const { return config_; }
  const ParamLayout& layout() const { return layout_; }
  // Writable parameters. Taking them marks the bf16 weight copy stale: it is made again
  // before the next pass (so once per optimizer step, however many micro-batches).
  float* params() {
    params_changed_ = true;
    return params_.data();
  }
  const float* params() const { return params_.data(); }
  float* grads() { return grads_.data(); }
  size_t num_params_flat() const { return params_.size(); }

  // Normal(0, 0.02) for matmul weights and embeddings (output projections scaled by
  // 1/sqrt(2·layers), as GPT-2 does), ones for norms, zeros for biases. Deterministic in seed.
  void init_random(uint64_t seed);
  void zero_grads();

  // Forward, loss and backward for a batch: adds grad_scale * d(loss_sum)/dθ into grads()
  // (the tied embedding gets both its uses). Returns the summed loss.
  LossStats forward_backward(const Batch& batch, LogitLoss& loss, float grad_scale);
  LossStats forward_backward(const Batch& batch, float grad_scale);  // cross-entropy
  // Forward and loss only.
  LossStats forward_loss(const Batch& batch, LogitLoss& loss);
  LossStats forward_loss(const Batch& batch);
  // Full logits [B*T, V] — for tests and small evaluations only.
  void forward_logits(const Batch& batch, float* logits);

  // Matrices held quantized (a GGUF's Q8_0 tensors, model/q8_weights.h): forward passes and
  // decode compute with them; their f32 slots in params() stay untouched. Such a model serves
  // inference only: forward_backward throws.
  void set_quantized_weights(std::shared_ptr<const Q8Weights> q8);
  bool has_quantized_weights() const;
  // Dequantization scratch of batched forward passes over quantized weights: at most this
  // many floats (default 16 Mi = 64 MiB; kernels/linear.h).
  void set_dequant_scratch_limit(size_t floats);
  // The weights as per-layer handles: what forward passes and decode compute with (fp32 or
  // quantized storage; never bf16 packs, which only training passes use).
  const ModelWeights& weights() const;
  // Plans activations for forward passes only: one block's buffers serve every block (a
  // teacher over B·T tokens needs 1/n_layers of the training plan). forward_backward then
  // throws.
  void set_inference_only();
  // Bytes the weights occupy in memory: f32 tensors in params() plus quantized ones (not
  // counting the dequantization scratch).
  size_t weight_bytes() const;

  // Bytes held by the activation buffer (planned for the largest batch seen so far): saved
  // activations, backward scratch and one chunk of logits. With the parameters, gradients
  // and AdamW moments (4 × 4 bytes per parameter) this is the peak memory of a training step.
  size_t activation_bytes() const;

  // Rows of logits the fused LM head + loss processes at a time: by default as many as fit
  // 128 MiB of logits (multiples of 64, at least 64; 1024 for a 32k vocabulary), since each
  // chunk passes over the whole LM head weight and its gradient. Tests set it small to
  // exercise the chunking. Memory for logits is rows × vocab_size floats.
  void set_loss_chunk_rows(int rows);
  int loss_chunk_rows() const;

  // fp32 (default) or bf16: bf16 matmuls from bf16 copies of the fp32 master weights, fp32
  // accumulation, gradients and optimizer state. Throws still::Error if the CPU lacks
  // AVX512_BF16. decode() always runs in fp32.
  void set_precision(Precision p);
  Precision precision() const;
  // Times the bf16 weight copy has been made (tests: once per optimizer step).
  int64_t bf16_weight_refreshes() const;

  // RoPE inverse frequencies (with rope_scaling applied), as used by forward and decode.
  const std::vector<double>& rope_inv_freq() const;

 private:
  struct Impl;
  LlamaConfig config_;
  ParamLayout layout_;
  ZeroFloats params_, grads_;  // pages cost memory once written (no RAM for unused grads)
  bool params_changed_ = true;
  std::unique_ptr<Impl> impl_;
};

struct DecodeSeq;

// One sequence's keys and values for incremental decoding (generation, serving).
class KVCache {
 public:
  KVCache(const LlamaConfig& config, int max_tokens);
  int length() const { return length_; }
  int capacity() const { return capacity_; }
  void clear() { length_ = 0; }

 private:
  friend class CacheAttention;
  friend void decode_batch(const LlamaModel&, const DecodeSeq*, int);
  int capacity_, length_ = 0;
  int64_t kv_dim_ = 0, layers_ = 0;
  std::vector<float> k_, v_;  // [layers, capacity, kv_dim]
};

// One sequence of a decode step: n new tokens to append to its cache, and where the logits of
// the last one go ([V] floats).
struct DecodeSeq {
  KVCache* cache = nullptr;
  const int32_t* tokens = nullptr;
  int n = 0;
  float* logits_last = nullptr;
};

// One decode step for several sequences at once: their new tokens run through every block
// together (one pass over the weights), each attending only its own cache at its own
// positions. Throws still::Error (changing no cache) if a cache would overflow, a token is
// outside the vocabulary or a cache was made for another configuration. Thread-safe for
// distinct caches: it keeps no state in the model.
void decode_batch(const LlamaModel& model, const DecodeSeq* seqs, int n_seqs);

// decode_batch for one sequence.
void decode(const LlamaModel& model, KVCache& cache, const int32_t* tokens, int n,
            float* logits_last);

}  // namespace still
