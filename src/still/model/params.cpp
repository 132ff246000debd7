#include "still/model/params.h"

namespace still {

size_t ParamLayout::add(const std::string& name, std::vector<int64_t> shape, bool decay,
                        bool packed) {
  ParamInfo p;
  p.name = name;
  p.numel = 1;
  for (auto d : shape) p.numel *= size_t(d);
  p.shape = std::move(shape);
  // Keep every tensor 64-byte aligned so SIMD loops and BLAS see aligned rows.
  if (!packed) total_ = (total_ + 15) & ~size_t(15);
  p.offset = total_;
  p.weight_decay = decay;
  total_ += p.numel;
  tensors_.push_back(p);
  return p.offset;
}

ParamLayout::ParamLayout(const LlamaConfig& c) {
  const int64_t D = c.dim, V = c.vocab_size, F = c.ffn_dim, Q = c.q_dim(), KV = c.kv_dim();
  embed = add("model.embed_tokens.weight", {V, D}, false);
  for (int l = 0; l < c.n_layers; ++l) {
    std::string p = "model.layers." + std::to_string(l) + ".";
    LayerOffsets o{};
    o.attn_norm = add(p + "input_layernorm.weight", {D}, false);
    o.wq = add(p + "self_attn.q_proj.weight", {Q, D}, true);
    o.wk = add(p + "self_attn.k_proj.weight", {KV, D}, true, /*packed=*/true);
    o.wv = add(p + "self_attn.v_proj.weight", {KV, D}, true, /*packed=*/true);
    o.bq = o.bk = o.bv = kAbsent;
    if (c.qkv_bias) {
      o.bq = add(p + "self_attn.q_proj.bias", {Q}, false);
      o.bk = add(p + "self_attn.k_proj.bias", {KV}, false, /*packed=*/true);
      o.bv = add(p + "self_attn.v_proj.bias", {KV}, false, /*packed=*/true);
    }
    o.q_norm = o.k_norm = kAbsent;
    if (c.qk_norm) {
      o.q_norm = add(p + "self_attn.q_norm.weight", {c.head_dim}, false);
      o.k_norm = add(p + "self_attn.k_norm.weight", {c.head_dim}, false);
    }
    o.wo = add(p + "self_attn.o_proj.weight", {D, Q}, true);
    o.ffn_norm = add(p + "post_attention_layernorm.weight", {D}, false);
    o.w_gate = add(p + "mlp.gate_proj.weight", {F, D}, true);
    o.w_up = add(p + "mlp.up_proj.weight", {F, D}, true, /*packed=*/true);
    o.w_down = add(p + "mlp.down_proj.weight", {D, F}, true);
    layers.push_back(o);
  }
  final_norm = add("model.norm.weight", {D}, false);
  lm_head = c.tied_embeddings ? embed : add("lm_head.weight", {V, D}, true);
  total_ = (total_ + 15) & ~size_t(15);
}

const ParamInfo* ParamLayout::find(const std::string& name) const {
  for (auto& t : tensors_)
    if (t.name == name) return &t;
  return nullptr;
}

}  // namespace still
