// AdamW (Loshchilov & Hutter) over the flat parameter buffer: decoupled weight decay applied
// only to tensors marked weight_decay (matmul weights; never norms, biases or embeddings).
// Element-wise and vectorised, with a static partition, so results are bitwise reproducible
// (and independent of the thread count).
#pragma once
#include <cstdint>
#include <vector>

#include "still/model/params.h"

namespace still {

struct AdamWConfig {
  float beta1 = 0.9f, beta2 = 0.95f, eps = 1e-8f, weight_decay = 0.1f;
};

class AdamW {
 public:
  AdamW(const ParamLayout& layout, AdamWConfig cfg);
  // One update with learning rate lr; increments step(). The gradient used is
  // grad_scale·grads (gradient clipping folded in: the same bits as scaling grads first,
  // without another pass over them).
  void step(float* params, const float* grads, float lr, float grad_scale = 1.0f);
  int64_t step_count() const { return t_; }
  void set_step_count(int64_t t) { t_ = t; }
  std::vector<float>& m() { return m_; }
  std::vector<float>& v() { return v_; }
  const AdamWConfig& config() const { return cfg_; }

 private:
  AdamWConfig cfg_;
  std::vector<float> m_, v_;
  struct Span {
    size_t begin, end;
  };
  std::vector<Span> decay_spans_;  // element ranges with weight decay: sorted, merged
  int64_t t_ = 0;
};

// L2 norm of the whole gradient (double accumulation, fixed order), for clipping.
double global_grad_norm(const float* grads, size_t n);

}  // namespace still
