#include "still/kernels/matmul_bf16.h"

#include <oneapi/dnnl/dnnl.h>

#include <array>
#include <cstdlib>
#include <cstring>
#include <map>
#include <string>
#include <vector>

#include "still/kernels/bf16.h"
#include "still/util/error.h"

namespace still::kernels {

namespace {

void check(dnnl_status_t st, const char* what) {
  if (st != dnnl_success)
    throw Error(std::string("bf16 matmul: oneDNN ") + what + " failed (status " +
                std::to_string(int(st)) + "); use --precision fp32");
}

// The CPU engine, created once for the process.
dnnl_engine_t engine() {
  struct Holder {
    dnnl_engine_t e = nullptr;
    Holder() { check(dnnl_engine_create(&e, dnnl_cpu, 0), "engine creation"); }
    ~Holder() { dnnl_engine_destroy(e); }
  };
  static Holder h;
  return h.e;
}

// One cached primitive with its memory objects (their data pointers are set per call).
// With a packed B, `b_md` is the blocked layout the primitive chose for it.
struct Cached {
  dnnl_primitive_t prim = nullptr;
  dnnl_memory_t a = nullptr, b = nullptr, c = nullptr, scratch = nullptr;
  dnnl_memory_desc_t b_md;
  size_t scratch_bytes = 0;
};

using Key = std::array<int64_t, 10>;  // ta, tb, M, N, K, lda, ldb, ldc, beta bits, packed B

// Per thread: primitives, their memory objects and a stream are not shared across threads.
// The scratchpad (packing buffers of the bf16 kernels) is ours and grow-only: left to
// oneDNN, it is allocated and page-faulted in on every call.
struct ThreadCache {
  dnnl_stream_t stream = nullptr;
  std::map<Key, Cached> prims;
  int64_t created = 0;
  void* scratch = nullptr;
  size_t scratch_bytes = 0;
  ~ThreadCache() {
    for (auto& [key, c] : prims) {
      dnnl_memory_destroy(c.a);
      dnnl_memory_destroy(c.b);
      dnnl_memory_destroy(c.c);
      if (c.scratch) dnnl_memory_destroy(c.scratch);
      dnnl_primitive_destroy(c.prim);
    }
    if (stream) dnnl_stream_destroy(stream);
    std::free(scratch);
  }
};

ThreadCache& cache() {
  thread_local ThreadCache tc;
  return tc;
}

// A [rows, cols] matrix stored row-major with row stride ld, or (transposed) stored as
// [cols, rows] with row stride ld.
void matrix_md(dnnl_memory_desc_t* md, int64_t rows, int64_t cols, bool trans, int64_t ld,
               dnnl_data_type_t dt) {
  dnnl_dims_t dims = {rows, cols};
  dnnl_dims_t strides = {trans ? 1 : ld, trans ? ld : 1};
  check(dnnl_memory_desc_init_by_strides(md, 2, dims, dt, strides), "memory descriptor");
}

Cached make(bool ta, bool tb, int64_t M, int64_t N, int64_t K, int64_t lda, int64_t ldb,
            int64_t ldc, float beta, bool packed_b) {
  dnnl_memory_desc_t a, b, c;
  matrix_md(&a, M, K, ta, lda, dnnl_bf16);
  if (packed_b) {  // let the primitive choose the layout it reads without copying
    dnnl_dims_t dims = {K, N};
    check(dnnl_memory_desc_init_by_tag(&b, 2, dims, dnnl_bf16, dnnl_format_tag_any),
          "memory descriptor");
  } else {
    matrix_md(&b, K, N, tb, ldb, dnnl_bf16);
  }
  matrix_md(&c, M, N, false, ldc, dnnl_f32);
  dnnl_matmul_desc_t desc;
  check(dnnl_matmul_desc_init(&desc, &a, &b, nullptr, &c), "matmul descriptor");
  dnnl_primitive_attr_t attr = nullptr;
  check(dnnl_primitive_attr_create(&attr), "attribute creation");
  check(dnnl_primitive_attr_set_scratchpad_mode(attr, dnnl_scratchpad_mode_user), "scratchpad");
  if (beta != 0.0f) {  // C = A·B + beta·C: oneDNN's sum post-op
    dnnl_post_ops_t po = nullptr;
    check(dnnl_post_ops_create(&po), "post-op creation");
    check(dnnl_post_ops_append_sum(po, beta), "sum post-op");
    check(dnnl_primitive_attr_set_post_ops(attr, po), "post-op attribute");
    dnnl_post_ops_destroy(po);
  }
  dnnl_primitive_desc_t pd = nullptr;
  const dnnl_status_t st = dnnl_primitive_desc_create(&pd, &desc, attr, engine(), nullptr);
  dnnl_primitive_attr_destroy(attr);
  check(st, "bf16 matmul creation (does this CPU have AVX512_BF16?)");
  Cached out;
  out.b_md = *dnnl_primitive_desc_query_md(pd, dnnl_query_weights_md, 0);
  b = out.b_md;
  const dnnl_memory_desc_t scratch_md =
      *dnnl_primitive_desc_query_md(pd, dnnl_query_scratchpad_md, 0);
  out.scratch_bytes = dnnl_memory_desc_get_size(&scratch_md);
  const dnnl_status_t st2 = dnnl_primitive_create(&out.prim, pd);
  dnnl_primitive_desc_destroy(pd);
  check(st2, "primitive creation");
  check(dnnl_memory_create(&out.a, &a, engine(), DNNL_MEMORY_NONE), "memory creation");
  check(dnnl_memory_create(&out.b, &b, engine(), DNNL_MEMORY_NONE), "memory creation");
  check(dnnl_memory_create(&out.c, &c, engine(), DNNL_MEMORY_NONE), "memory creation");
  if (out.scratch_bytes > 0)
    check(dnnl_memory_create(&out.scratch, &scratch_md, engine(), DNNL_MEMORY_NONE),
          "memory creation");
  return out;
}

// The cached primitive for these arguments (created on first use).
const Cached& primitive(bool ta, bool tb, int64_t M, int64_t N, int64_t K, int64_t lda, int64_t ldb,
                        int64_t ldc, float beta, bool packed_b) {
  ThreadCache& tc = cache();
  if (!tc.stream)
    check(dnnl_stream_create(&tc.stream, engine(), dnnl_stream_default_flags), "stream creation");
  uint32_t beta_bits;
  __builtin_memcpy(&beta_bits, &beta, 4);
  const Key key = {ta,  packed_b ? 0 : tb,  M,       N, K, lda, packed_b ? 0 : ldb,
                   ldc, int64_t(beta_bits), packed_b};
  auto it = tc.prims.find(key);
  if (it == tc.prims.end()) {
    it = tc.prims.emplace(key, make(ta, tb, M, N, K, lda, ldb, ldc, beta, packed_b)).first;
    ++tc.created;
  }
  return it->second;
}

void execute(const Cached& p, const void* A, const void* B, float* C) {
  ThreadCache& tc = cache();
  check(dnnl_memory_set_data_handle(p.a, const_cast<void*>(A)), "set A");
  check(dnnl_memory_set_data_handle(p.b, const_cast<void*>(B)), "set B");
  check(dnnl_memory_set_data_handle(p.c, C), "set C");
  if (p.scratch_bytes > tc.scratch_bytes) {
    std::free(tc.scratch);
    tc.scratch_bytes = (p.scratch_bytes + 4095) & ~size_t(4095);
    tc.scratch = std::aligned_alloc(4096, tc.scratch_bytes);
    if (!tc.scratch) throw Error("bf16 matmul: out of memory for the matmul scratchpad");
  }
  if (p.scratch) check(dnnl_memory_set_data_handle(p.scratch, tc.scratch), "set scratchpad");
  const dnnl_exec_arg_t args[4] = {{DNNL_ARG_SRC, p.a},
                                   {DNNL_ARG_WEIGHTS, p.b},
                                   {DNNL_ARG_DST, p.c},
                                   {DNNL_ARG_SCRATCHPAD, p.scratch}};
  check(dnnl_primitive_execute(p.prim, tc.stream, p.scratch ? 4 : 3, args), "matmul execution");
  check(dnnl_stream_wait(tc.stream), "stream wait");
}

// C = beta * C for an empty inner dimension.
bool trivial(int64_t M, int64_t N, int64_t K, float beta, float* C, int64_t ldc) {
  if (M == 0 || N == 0) return true;
  if (K != 0) return false;
  for (int64_t i = 0; i < M; ++i)
    for (int64_t j = 0; j < N; ++j) C[i * ldc + j] = beta == 0 ? 0.0f : beta * C[i * ldc + j];
  return true;
}

// Packs W[K,N] (not transposed) with our converter when md is the layout it writes
// (oneDNN's reorder from fp32 is several times slower for this orientation).
bool pack_plain(const float* W, int64_t ldw, int64_t K, int64_t N, const dnnl_memory_desc_t& md,
                uint16_t* out) {
  const auto& b = md.format_desc.blocking;
  if (md.format_kind != dnnl_blocked || md.ndims != 2 || md.offset0 != 0 || md.extra.flags != 0 ||
      b.inner_nblks != 3 || b.inner_blks[0] != 16 || b.inner_blks[2] != 2 || b.inner_idxs[0] != 0 ||
      b.inner_idxs[1] != 1 || b.inner_idxs[2] != 0)
    return false;
  const int64_t nb = b.inner_blks[1], Kp = md.padded_dims[0], Np = md.padded_dims[1];
  if (nb % 16 != 0 || Kp % 32 != 0 || Np % nb != 0 || Kp < K || Np < N ||
      md.padded_offsets[0] != 0 || md.padded_offsets[1] != 0)
    return false;
  // Every block holds 32·nb elements: blocks must not overlap and fit the buffer.
  const int64_t s0 = b.strides[0], s1 = b.strides[1], blocks_k = Kp / 32, blocks_n = Np / nb;
  const bool k_inner = s0 == 32 * nb && s1 == blocks_k * s0;
  const bool n_inner = s1 == 32 * nb && s0 == blocks_n * s1;
  if (!k_inner && !n_inner) return false;
  return pack_bf16_row_pairs(W, ldw, K, N, Kp, Np, nb, s0, s1, out);
}

// The portable path (no AVX512_BF16, or STILL_ISA=avx2): the operands are bf16 values, widened
// exactly to fp32 and multiplied by oneDNN's fp32 sgemm with fp32 accumulation. Same inputs and
// rounding as the fast path; only the order of the fp32 sums differs.
bool fast_path() { return cpu_has_avx512_bf16(); }

float widen(uint16_t h) {
  const uint32_t u = uint32_t(h) << 16;
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

// A stored [rows, cols] bf16 matrix with row stride ld, widened into dense fp32 `out`.
const float* widened(const uint16_t* X, int64_t rows, int64_t cols, int64_t ld,
                     std::vector<float>& out) {
  out.resize(size_t(rows * cols));
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < cols; ++c) out[size_t(r * cols + c)] = widen(X[r * ld + c]);
  return out.data();
}

void sgemm(bool ta, bool tb, int64_t M, int64_t N, int64_t K, const float* A, int64_t lda,
           const float* B, int64_t ldb, float beta, float* C, int64_t ldc) {
  const dnnl_status_t st =
      dnnl_sgemm(ta ? 'T' : 'N', tb ? 'T' : 'N', M, N, K, 1.0f, A, lda, B, ldb, beta, C, ldc);
  check(st, "sgemm (portable bf16 path)");
}

// op(A)·B with A bf16 (as in matmul_bf16) and B an fp32 matrix of bf16 values.
void portable_matmul(bool ta, bool tb, int64_t M, int64_t N, int64_t K, const uint16_t* A,
                     int64_t lda, const float* B, int64_t ldb, float beta, float* C, int64_t ldc) {
  thread_local std::vector<float> a32;
  const int64_t a_cols = ta ? M : K;
  const float* a = widened(A, ta ? K : M, a_cols, lda, a32);
  sgemm(ta, tb, M, N, K, a, a_cols, B, ldb, beta, C, ldc);
}

}  // namespace

void matmul_bf16(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, const uint16_t* A,
                 int64_t lda, const uint16_t* B, int64_t ldb, float beta, float* C, int64_t ldc) {
  if (trivial(M, N, K, beta, C, ldc)) return;
  if (!fast_path()) {
    thread_local std::vector<float> b32;
    const int64_t b_cols = trans_b ? K : N;
    const float* b = widened(B, trans_b ? N : K, b_cols, ldb, b32);
    portable_matmul(trans_a, trans_b, M, N, K, A, lda, b, b_cols, beta, C, ldc);
    return;
  }
  execute(primitive(trans_a, trans_b, M, N, K, lda, ldb, ldc, beta, false), A, B, C);
}

// One packed weight: the fp32 source it was made from, the layout, the bf16 data and the
// reorder that makes it (kept: creating a reorder costs more than running a small one).
struct Bf16WeightPacks::Pack {
  const float* W = nullptr;
  bool trans = false;
  int64_t K = 0, N = 0, ldw = 0;
  dnnl_memory_desc_t md{};
  uint64_t version = 0;
  uint16_t* data = nullptr;
  size_t bytes = 0;
  std::vector<float> rounded;  // portable path: W as stored, rounded to bf16 values
  dnnl_primitive_t reorder = nullptr;
  dnnl_memory_t from = nullptr, to = nullptr;
  ~Pack() {
    if (reorder) dnnl_primitive_destroy(reorder);
    if (from) dnnl_memory_destroy(from);
    if (to) dnnl_memory_destroy(to);
    std::free(data);
  }
};

Bf16WeightPacks::Bf16WeightPacks() = default;
Bf16WeightPacks::~Bf16WeightPacks() = default;

void Bf16WeightPacks::invalidate() { ++version_; }

size_t Bf16WeightPacks::bytes() const {
  size_t n = 0;
  for (const auto& p : packs_) n += p->bytes;
  return n;
}

void Bf16WeightPacks::matmul(bool trans_a, bool trans_w, int64_t M, int64_t N, int64_t K,
                             const uint16_t* A, int64_t lda, const float* W, int64_t ldw,
                             float beta, float* C, int64_t ldc) {
  if (trivial(M, N, K, beta, C, ldc)) return;
  if (!fast_path()) {  // the portable path: W rounded to bf16 values once per change, in fp32
    const int64_t rows = trans_w ? N : K, cols = trans_w ? K : N;  // W as stored
    Pack* pack = nullptr;
    for (auto& p : packs_)
      if (!p->data && p->W == W && p->trans == trans_w && p->K == K && p->N == N && p->ldw == ldw)
        pack = p.get();
    if (!pack) {
      packs_.push_back(std::make_unique<Pack>());
      pack = packs_.back().get();
      pack->W = W;
      pack->trans = trans_w;
      pack->K = K;
      pack->N = N;
      pack->ldw = ldw;
    }
    if (pack->version != version_) {
      std::vector<uint16_t> h(static_cast<size_t>(cols));
      pack->rounded.resize(size_t(rows * cols));
      for (int64_t r = 0; r < rows; ++r) {
        f32_to_bf16(W + r * ldw, h.data(), cols);
        for (int64_t c = 0; c < cols; ++c)
          pack->rounded[size_t(r * cols + c)] = widen(h[size_t(c)]);
      }
      pack->bytes = pack->rounded.size() * sizeof(float);
      pack->version = version_;
      ++packs_made_;
      ++own_packs_;
    }
    portable_matmul(trans_a, trans_w, M, N, K, A, lda, pack->rounded.data(), cols, beta, C, ldc);
    return;
  }
  const Cached& prim = primitive(trans_a, trans_w, M, N, K, lda, ldw, ldc, beta, true);
  Pack* pack = nullptr;
  for (auto& p : packs_)
    if (p->data && p->W == W && p->trans == trans_w && p->K == K && p->N == N && p->ldw == ldw &&
        dnnl_memory_desc_equal(&p->md, &prim.b_md)) {
      pack = p.get();
      break;
    }
  if (!pack) {
    auto p = std::make_unique<Pack>();
    p->W = W;
    p->trans = trans_w;
    p->K = K;
    p->N = N;
    p->ldw = ldw;
    p->md = prim.b_md;
    p->bytes = dnnl_memory_desc_get_size(&p->md);
    p->data = static_cast<uint16_t*>(std::aligned_alloc(64, (p->bytes + 63) & ~size_t(63)));
    if (!p->data) throw Error("bf16 matmul: out of memory packing a weight");
    dnnl_memory_desc_t src;
    matrix_md(&src, K, N, trans_w, ldw, dnnl_f32);
    dnnl_primitive_desc_t rpd = nullptr;
    check(dnnl_reorder_primitive_desc_create(&rpd, &src, engine(), &p->md, engine(), nullptr),
          "weight reorder creation");
    const dnnl_status_t st = dnnl_primitive_create(&p->reorder, rpd);
    dnnl_primitive_desc_destroy(rpd);
    check(st, "weight reorder creation");
    check(dnnl_memory_create(&p->from, &src, engine(), DNNL_MEMORY_NONE), "memory creation");
    check(dnnl_memory_create(&p->to, &p->md, engine(), p->data), "memory creation");
    pack = p.get();
    packs_.push_back(std::move(p));
  }
  if (pack->version != version_ && !trans_w && pack_plain(W, ldw, K, N, pack->md, pack->data)) {
    pack->version = version_;
    ++packs_made_;
    ++own_packs_;
  }
  if (pack->version != version_) {  // any other layout: oneDNN's reorder
    ThreadCache& tc = cache();
    check(dnnl_memory_set_data_handle(pack->from, const_cast<float*>(W)), "set weight");
    const dnnl_exec_arg_t args[2] = {{DNNL_ARG_FROM, pack->from}, {DNNL_ARG_TO, pack->to}};
    check(dnnl_primitive_execute(pack->reorder, tc.stream, 2, args), "weight reorder");
    check(dnnl_stream_wait(tc.stream), "stream wait");
    pack->version = version_;
    ++packs_made_;
  }
  execute(prim, A, pack->data, C);
}

int64_t matmul_bf16_primitives_created() { return cache().created; }

}  // namespace still::kernels
