// A model's weights as named per-layer handles (and its gradients as the same names), built
// over the flat parameter buffer of ParamLayout. What a kernel computes with is visible at
// its call: `w.qkv`, `w.down` — each a kernels::LinearWeight that knows its storage.
#pragma once
#include <array>
#include <memory>
#include <vector>

#include "still/kernels/linear.h"
#include "still/kernels/matmul_bf16.h"
#include "still/model/config.h"
#include "still/model/params.h"

namespace still {

class Q8Weights;

struct BlockWeights {
  const float* attn_norm = nullptr;  // [dim]
  kernels::LinearWeight qkv;         // [q_dim + 2·kv_dim, dim]: q, k and v stacked
  const float* qkv_bias = nullptr;   // [q_dim + 2·kv_dim] (Qwen2), or null
  const float* q_norm = nullptr;     // [head_dim] (Qwen3 q/k norm), or null
  const float* k_norm = nullptr;
  kernels::LinearWeight o;          // [dim, q_dim]
  const float* ffn_norm = nullptr;  // [dim]
  kernels::LinearWeight gate_up;    // [2·ffn_dim, dim]: gate and up stacked
  kernels::LinearWeight down;       // [dim, ffn_dim]
};

// Gradients, laid out like the weights (null where the weight is absent).
struct BlockGrads {
  float *attn_norm = nullptr, *qkv = nullptr, *qkv_bias = nullptr, *q_norm = nullptr,
        *k_norm = nullptr, *o = nullptr, *ffn_norm = nullptr, *gate_up = nullptr, *down = nullptr;
};

struct ModelWeights {
  kernels::LinearWeight embed;  // [vocab, dim]
  std::vector<BlockWeights> blocks;
  const float* final_norm = nullptr;
  kernels::LinearWeight lm_head;  // [vocab, dim]; the embedding's matrix when tied
};

struct ModelGrads {
  float* embed = nullptr;
  std::vector<BlockGrads> blocks;
  float* final_norm = nullptr;
  float* lm_head = nullptr;  // == embed when tied: both uses add into it
};

// Quantized storage of a model's matrices (inference), one per linear layer that has it.
struct QuantizedMatrices {
  std::shared_ptr<const Q8Weights> source;  // what the matrices read from
  std::unique_ptr<kernels::QuantMatrix> embed, lm_head;
  struct Block {
    std::unique_ptr<kernels::QuantMatrix> qkv, o, gate_up, down;
  };
  std::vector<Block> blocks;
  size_t bytes = 0, floats_held = 0;  // of `source`
};
// The matrices of `source` for this layout (null entries where a weight stays f32).
std::unique_ptr<QuantizedMatrices> quantized_matrices(const LlamaConfig& c, const ParamLayout& lay,
                                                      std::shared_ptr<const Q8Weights> source);

// The bf16 copies of a model's matrices, one Bf16WeightPacks per matrix.
using Bf16PackStore = std::vector<std::unique_ptr<kernels::Bf16WeightPacks>>;

// Handles over `params` (and `quant` where set). With `bf16`, every f32 matrix gets packs of
// its own there (the store is filled anew), so its matmuls run in bf16.
ModelWeights model_weights(const LlamaConfig& c, const ParamLayout& lay, const float* params,
                           const QuantizedMatrices* quant, Bf16PackStore* bf16);
ModelGrads model_grads(const LlamaConfig& c, const ParamLayout& lay, float* grads);

}  // namespace still
