#include "still/kernels/precision.h"

#include "still/kernels/bf16.h"
#include "still/util/error.h"
#include "still/util/log.h"

namespace still {

std::string precision_name(Precision p) { return p == Precision::kBf16 ? "bf16" : "fp32"; }

Precision parse_precision(const std::string& name) {
  if (name == "fp32") return Precision::kFp32;
  if (name == "bf16") return Precision::kBf16;
  throw Error("unknown precision '" + name + "'; use fp32 or bf16");
}

void require_precision_supported(Precision p) {
  // bf16 runs everywhere: without AVX512_BF16 on the portable path (same rounding, slower).
  if (p != Precision::kBf16 || kernels::cpu_has_avx512_bf16()) return;
  static bool said = false;
  if (!said)
    log_info(
        "note: --precision bf16 takes its portable path here (no AVX512_BF16, or "
        "STILL_ISA=avx2): the same rounding, slower");
  said = true;
}

}  // namespace still

namespace still::kernels {

namespace {

thread_local Bf16Workspace* t_active = nullptr;

uint16_t* sized(std::vector<uint16_t>& v, int64_t n) {
  if (v.size() < size_t(n)) v.resize(size_t(n));
  return v.data();
}

}  // namespace

void Bf16Workspace::set_params(const float* params, int64_t n) {
  params_ = params;
  n_params_ = n;
  packs_.invalidate();
  ++refreshes_;
}

void Bf16Workspace::begin_pass() {
  for (auto it = staged_.begin(); it != staged_.end();)
    it = (pass_ > 0 && it->second.pass < pass_) ? staged_.erase(it) : std::next(it);
  ++pass_;
}

void Bf16Workspace::weight_matmul(bool trans_a, bool trans_w, int64_t M, int64_t N, int64_t K,
                                  const uint16_t* A, int64_t lda, const float* W, int64_t ldw,
                                  float beta, float* C, int64_t ldc) {
  const int64_t rows = trans_w ? N : K, cols = trans_w ? K : N;  // W as stored
  if (params_ && W >= params_ && W + (rows - 1) * ldw + cols <= params_ + n_params_) {
    packs_.matmul(trans_a, trans_w, M, N, K, A, lda, W, ldw, beta, C, ldc);
    return;
  }
  uint16_t* w = sized(weight_scratch_, rows * cols);
  f32_to_bf16_rows(W, ldw, w, rows, cols);
  matmul_bf16(trans_a, trans_w, M, N, K, A, lda, w, cols, beta, C, ldc);
}

const uint16_t* Bf16Workspace::stage(const float* x, int64_t n) {
  Staged& s = staged_[x];
  s.n = n;
  s.pass = pass_;
  uint16_t* out = sized(s.data, n);
  f32_to_bf16(x, out, n);
  return out;
}

const uint16_t* Bf16Workspace::staged(const float* x, int64_t n) {
  auto it = staged_.find(x);
  if (it != staged_.end() && it->second.pass == pass_ && it->second.n == n)
    return it->second.data.data();
  uint16_t* out = sized(act_scratch_, n);
  f32_to_bf16(x, out, n);
  return out;
}

const uint16_t* Bf16Workspace::gradient(const float* x, int64_t n) {
  uint16_t* out = sized(grad_scratch_, n);
  f32_to_bf16(x, out, n);
  return out;
}

size_t Bf16Workspace::bytes() const {
  size_t n = weight_scratch_.size() + act_scratch_.size() + grad_scratch_.size();
  for (const auto& [x, s] : staged_) n += s.data.size();
  return n * sizeof(uint16_t) + packs_.bytes();
}

Bf16Scope::Bf16Scope(Bf16Workspace* ws) : prev_(t_active) { t_active = ws; }

Bf16Scope::~Bf16Scope() { t_active = prev_; }

Bf16Workspace* active_bf16_workspace() { return t_active; }

}  // namespace still::kernels
