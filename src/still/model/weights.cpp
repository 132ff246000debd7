#include "still/model/weights.h"

#include "still/kernels/matmul_bf16.h"
#include "still/model/q8_weights.h"

namespace still {
namespace {

const float* opt(const float* base, size_t offset) {
  return offset == ParamLayout::kAbsent ? nullptr : base + offset;
}
float* opt(float* base, size_t offset) {
  return offset == ParamLayout::kAbsent ? nullptr : base + offset;
}

kernels::LinearWeight linear(const float* P, size_t offset, int64_t out, int64_t in,
                             const kernels::QuantMatrix* q, Bf16PackStore* bf16) {
  kernels::LinearWeight w;
  w.out = out;
  w.in = in;
  w.f32 = P + offset;
  w.quant = q;
  if (bf16 && !q) {
    bf16->push_back(std::make_unique<kernels::Bf16WeightPacks>());
    w.bf16 = bf16->back().get();
  }
  return w;
}

}  // namespace

std::unique_ptr<QuantizedMatrices> quantized_matrices(const LlamaConfig& c, const ParamLayout& lay,
                                                      std::shared_ptr<const Q8Weights> source) {
  auto q = std::make_unique<QuantizedMatrices>();
  const Q8Weights& s = *source;
  const int64_t D = c.dim, Q = c.q_dim(), KV = c.kv_dim(), F = c.ffn_dim, V = c.vocab_size;
  q->embed = s.matrix({{lay.embed, V}}, D);
  q->lm_head = s.matrix({{lay.lm_head, V}}, D);
  for (const LayerOffsets& o : lay.layers) {
    QuantizedMatrices::Block b;
    b.qkv = s.matrix({{o.wq, Q}, {o.wk, KV}, {o.wv, KV}}, D);
    b.o = s.matrix({{o.wo, D}}, Q);
    b.gate_up = s.matrix({{o.w_gate, F}, {o.w_up, F}}, D);
    b.down = s.matrix({{o.w_down, D}}, F);
    q->blocks.push_back(std::move(b));
  }
  q->bytes = s.bytes();
  q->floats_held = s.floats_held();
  q->source = std::move(source);
  return q;
}

ModelWeights model_weights(const LlamaConfig& c, const ParamLayout& lay, const float* P,
                           const QuantizedMatrices* quant, Bf16PackStore* bf16) {
  if (bf16) bf16->clear();
  const int64_t D = c.dim, Q = c.q_dim(), KV = c.kv_dim(), F = c.ffn_dim, V = c.vocab_size;
  ModelWeights w;
  // The embedding lookup reads rows; it never runs as a matmul, so it needs no bf16 packs.
  w.embed = linear(P, lay.embed, V, D, quant ? quant->embed.get() : nullptr, nullptr);
  w.lm_head = linear(P, lay.lm_head, V, D, quant ? quant->lm_head.get() : nullptr, bf16);
  w.final_norm = P + lay.final_norm;
  w.blocks.resize(lay.layers.size());
  for (size_t l = 0; l < lay.layers.size(); ++l) {
    const LayerOffsets& o = lay.layers[l];
    const QuantizedMatrices::Block* qb = quant ? &quant->blocks[l] : nullptr;
    BlockWeights& b = w.blocks[l];
    b.attn_norm = P + o.attn_norm;
    b.qkv = linear(P, o.wq, Q + 2 * KV, D, qb ? qb->qkv.get() : nullptr, bf16);
    b.qkv_bias = opt(P, o.bq);
    b.q_norm = opt(P, o.q_norm);
    b.k_norm = opt(P, o.k_norm);
    b.o = linear(P, o.wo, D, Q, qb ? qb->o.get() : nullptr, bf16);
    b.ffn_norm = P + o.ffn_norm;
    b.gate_up = linear(P, o.w_gate, 2 * F, D, qb ? qb->gate_up.get() : nullptr, bf16);
    b.down = linear(P, o.w_down, D, F, qb ? qb->down.get() : nullptr, bf16);
  }
  return w;
}

ModelGrads model_grads(const LlamaConfig&, const ParamLayout& lay, float* G) {
  ModelGrads g;
  g.embed = G + lay.embed;
  g.lm_head = G + lay.lm_head;
  g.final_norm = G + lay.final_norm;
  g.blocks.resize(lay.layers.size());
  for (size_t l = 0; l < lay.layers.size(); ++l) {
    const LayerOffsets& o = lay.layers[l];
    BlockGrads& b = g.blocks[l];
    b.attn_norm = G + o.attn_norm;
    b.qkv = G + o.wq;
    b.qkv_bias = opt(G, o.bq);
    b.q_norm = opt(G, o.q_norm);
    b.k_norm = opt(G, o.k_norm);
    b.o = G + o.wo;
    b.ffn_norm = G + o.ffn_norm;
    b.gate_up = G + o.w_gate;
    b.down = G + o.w_down;
  }
  return g;
}

}  // namespace still
