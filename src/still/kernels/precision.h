// Training precision (issue #7): fp32 everywhere, or bf16 matmuls with fp32 master weights,
// fp32 accumulation and fp32 gradients / optimizer state. In bf16, a model owns a
// Bf16Workspace: the bf16 copy of its parameters (made once after they change, i.e. once
// per optimizer step) and the bf16 copies of the activations its linear layers read. While
// a Bf16Scope is alive, linear_forward / linear_backward (kernels/matmul.h) on that thread
// run their matmuls in bf16 from the workspace; everything else stays fp32.
#pragma once
#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "still/kernels/matmul_bf16.h"

namespace still {

enum class Precision { kFp32, kBf16 };

std::string precision_name(Precision p);  // "fp32" | "bf16"
// Throws still::Error naming the accepted values.
Precision parse_precision(const std::string& name);
// Every CPU runs both; bf16 without AVX512_BF16 (or under STILL_ISA=avx2) takes the portable
// path and says so once (log_info).
void require_precision_supported(Precision p);

}  // namespace still

namespace still::kernels {

class Bf16Workspace {
 public:
  // The fp32 parameters [params, params + n) changed (or are new): their bf16 packed copies
  // are made again on first use.
  void set_params(const float* params, int64_t n);
  // Starts a forward(+backward) pass: activations staged in the pass before are forgotten
  // (their buffers are kept for reuse; buffers unused for a whole pass are freed).
  void begin_pass();

  // C[M,N] = op(A)·op(W) + beta·C with A bf16 and the fp32 weight W rounded to bf16: W's
  // packed copy when W lies inside the parameters, otherwise W converted now.
  void weight_matmul(bool trans_a, bool trans_w, int64_t M, int64_t N, int64_t K, const uint16_t* A,
                     int64_t lda, const float* W, int64_t ldw, float beta, float* C, int64_t ldc);
  // Converts the activation x[n] and keeps the copy for this pass (the backward of the same
  // linear layer reads it again: its input must not change in between).
  const uint16_t* stage(const float* x, int64_t n);
  // The copy staged for x[n] in this pass, or a conversion now into scratch.
  const uint16_t* staged(const float* x, int64_t n);
  // x[n] converted into the gradient scratch (valid until the next call).
  const uint16_t* gradient(const float* x, int64_t n);

  size_t bytes() const;                                   // memory held
  int64_t param_refreshes() const { return refreshes_; }  // set_params calls so far
  const Bf16WeightPacks& packs() const { return packs_; }

 private:
  struct Staged {
    int64_t n = 0;
    uint64_t pass = 0;
    std::vector<uint16_t> data;
  };
  const float* params_ = nullptr;
  int64_t n_params_ = 0, refreshes_ = 0;
  Bf16WeightPacks packs_;
  std::vector<uint16_t> weight_scratch_, act_scratch_, grad_scratch_;
  std::unordered_map<const float*, Staged> staged_;
  uint64_t pass_ = 0;
};

// Makes ws the bf16 workspace of linear_* on this thread for the scope's lifetime; a null
// ws makes them fp32 (a model in fp32 called inside another model's bf16 pass).
class Bf16Scope {
 public:
  explicit Bf16Scope(Bf16Workspace* ws);
  ~Bf16Scope();
  Bf16Scope(const Bf16Scope&) = delete;
  Bf16Scope& operator=(const Bf16Scope&) = delete;

 private:
  Bf16Workspace* prev_;
};

// The workspace of the innermost Bf16Scope on this thread, or null (fp32).
Bf16Workspace* active_bf16_workspace();

}  // namespace still::kernels
