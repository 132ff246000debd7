#include "still/kernels/matmul_bf16.h"

#include <oneapi/dnnl/dnnl.h>

#include <array>
#include <map>
#include <string>

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
struct Cached {
  dnnl_primitive_t prim = nullptr;
  dnnl_memory_t a = nullptr, b = nullptr, c = nullptr;
};

using Key = std::array<int64_t, 10>;  // ta, tb, M, N, K, lda, ldb, ldc, beta bits, 0

// Per thread: primitives, their memory objects and a stream are not shared across threads.
struct ThreadCache {
  dnnl_stream_t stream = nullptr;
  std::map<Key, Cached> prims;
  int64_t created = 0;
  ~ThreadCache() {
    for (auto& [key, c] : prims) {
      dnnl_memory_destroy(c.a);
      dnnl_memory_destroy(c.b);
      dnnl_memory_destroy(c.c);
      dnnl_primitive_destroy(c.prim);
    }
    if (stream) dnnl_stream_destroy(stream);
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
            int64_t ldc, float beta) {
  dnnl_memory_desc_t a, b, c;
  matrix_md(&a, M, K, ta, lda, dnnl_bf16);
  matrix_md(&b, K, N, tb, ldb, dnnl_bf16);
  matrix_md(&c, M, N, false, ldc, dnnl_f32);
  dnnl_matmul_desc_t desc;
  check(dnnl_matmul_desc_init(&desc, &a, &b, nullptr, &c), "matmul descriptor");
  dnnl_primitive_attr_t attr = nullptr;
  check(dnnl_primitive_attr_create(&attr), "attribute creation");
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
  const dnnl_status_t st2 = dnnl_primitive_create(&out.prim, pd);
  dnnl_primitive_desc_destroy(pd);
  check(st2, "primitive creation");
  check(dnnl_memory_create(&out.a, &a, engine(), DNNL_MEMORY_NONE), "memory creation");
  check(dnnl_memory_create(&out.b, &b, engine(), DNNL_MEMORY_NONE), "memory creation");
  check(dnnl_memory_create(&out.c, &c, engine(), DNNL_MEMORY_NONE), "memory creation");
  return out;
}

}  // namespace

void matmul_bf16(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, const uint16_t* A,
                 int64_t lda, const uint16_t* B, int64_t ldb, float beta, float* C, int64_t ldc) {
  if (M == 0 || N == 0) return;
  if (K == 0) {  // op(A)·op(B) is zero: C = beta * C
    for (int64_t i = 0; i < M; ++i)
      for (int64_t j = 0; j < N; ++j) C[i * ldc + j] = beta == 0 ? 0.0f : beta * C[i * ldc + j];
    return;
  }
  ThreadCache& tc = cache();
  if (!tc.stream)
    check(dnnl_stream_create(&tc.stream, engine(), dnnl_stream_default_flags), "stream creation");
  uint32_t beta_bits;
  __builtin_memcpy(&beta_bits, &beta, 4);
  const Key key = {trans_a, trans_b, M, N, K, lda, ldb, ldc, int64_t(beta_bits), 0};
  auto it = tc.prims.find(key);
  if (it == tc.prims.end()) {
    it = tc.prims.emplace(key, make(trans_a, trans_b, M, N, K, lda, ldb, ldc, beta)).first;
    ++tc.created;
  }
  const Cached& p = it->second;
  check(dnnl_memory_set_data_handle(p.a, const_cast<uint16_t*>(A)), "set A");
  check(dnnl_memory_set_data_handle(p.b, const_cast<uint16_t*>(B)), "set B");
  check(dnnl_memory_set_data_handle(p.c, C), "set C");
  const dnnl_exec_arg_t args[3] = {
      {DNNL_ARG_SRC, p.a}, {DNNL_ARG_WEIGHTS, p.b}, {DNNL_ARG_DST, p.c}};
  check(dnnl_primitive_execute(p.prim, tc.stream, 3, args), "matmul execution");
  check(dnnl_stream_wait(tc.stream), "stream wait");
}

int64_t matmul_bf16_primitives_created() { return cache().created; }

}  // namespace still::kernels
