// The parameters of a Llama model live in one flat f32 buffer (and the gradients and
// optimizer moments in buffers of the same layout). ParamLayout names each slice with its
// Hugging Face tensor name, so checkpoints open in other tools unchanged.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "still/model/config.h"

namespace still {

struct ParamInfo {
  std::string name;            // e.g. "model.layers.3.self_attn.q_proj.weight"
  std::vector<int64_t> shape;  // row-major, HF convention ([out, in] for linear weights)
  size_t offset = 0;           // in floats, into the flat buffer
  size_t numel = 0;
  bool weight_decay = false;   // true for matmul weights; false for norms, biases, embeddings
};

// Offsets of one block's tensors in the flat buffer. Absent tensors (no bias, no q/k norm)
// have offset SIZE_MAX. q/k/v (weights, and biases when present) and gate/up are adjacent
// with no padding between them, so [Wq; Wk; Wv] is one [(q_dim + 2·kv_dim), dim] row-major
// matrix starting at wq and [W_gate; W_up] one [2·ffn_dim, dim] matrix starting at w_gate:
// the engine runs each group as one matmul. Names, shapes and contents are unchanged.
struct LayerOffsets {
  size_t attn_norm, wq, wk, wv, wo, bq, bk, bv, q_norm, k_norm, ffn_norm, w_gate, w_up, w_down;
};

class ParamLayout {
 public:
  static constexpr size_t kAbsent = SIZE_MAX;
  explicit ParamLayout(const LlamaConfig& c);

  const std::vector<ParamInfo>& tensors() const { return tensors_; }
  size_t total() const { return total_; }
  const ParamInfo* find(const std::string& name) const;

  size_t embed = 0;                 // [V, D]
  std::vector<LayerOffsets> layers;
  size_t final_norm = 0;            // [D]
  size_t lm_head = 0;               // [V, D]; == embed when embeddings are tied

 private:
  // `packed`: placed right after the previous tensor, without the 64-byte alignment padding.
  size_t add(const std::string& name, std::vector<int64_t> shape, bool decay, bool packed = false);
  std::vector<ParamInfo> tensors_;
  size_t total_ = 0;
};

}  // namespace still
