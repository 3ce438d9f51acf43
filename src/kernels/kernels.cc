// Public kernels: each forwards through a table of function pointers picked once per process
// from ActiveIsa() (one predictable indirect call per kernel invocation).
#include "kernels/kernels.h"

#include <cstdio>
#include <cstdlib>

#include "kernels/cpu/cpu_kernels.h"
#include "kernels/dispatch.h"
#include "kernels/interleaved.h"
#include "kernels/ref/quant.h"
#include "kernels/ref/ref.h"

namespace loom::kernels {
namespace {

struct KernelTable {
  decltype(&ref::MatMul) mat_mul;
  decltype(&ref::MatMul) mat_mul_like_weights;  // Activations::kLikeWeights
  decltype(&ref::RmsNorm) rms_norm;
  decltype(&ref::SiluMul) silu_mul;
  decltype(&ref::Silu) silu;
  decltype(&ref::GeluErf) gelu_erf;
  decltype(&ref::GeluTanh) gelu_tanh;
  decltype(&ref::Softmax) softmax;
  decltype(&ref::LogSoftmax) log_softmax;
  decltype(&ref::RopeNeox) rope_neox;
  decltype(&ref::PagedAttention) paged_attention;
};

#define LOOM_KERNEL_TABLE(ns)                                                              \
  KernelTable {                                                                            \
    ns::MatMul, ns::MatMul, ns::RmsNorm, ns::SiluMul, ns::Silu, ns::GeluErf, ns::GeluTanh, \
        ns::Softmax, ns::LogSoftmax, ns::RopeNeox, ns::PagedAttention                      \
  }

const KernelTable& Table() {
  static const KernelTable table = [] {
    switch (ActiveIsa()) {
      case Isa::kAvx512Bf16: {
        KernelTable t = LOOM_KERNEL_TABLE(avx512);
        t.mat_mul_like_weights = avx512bf16::MatMul;
        return t;
      }
      case Isa::kAvx512:
        return LOOM_KERNEL_TABLE(avx512);
      case Isa::kAvx2:
        return LOOM_KERNEL_TABLE(avx2);
      case Isa::kScalar:
        break;
    }
    return LOOM_KERNEL_TABLE(ref);
  }();
  return table;
}

#undef LOOM_KERNEL_TABLE

}  // namespace

void MatMul(const float* x, const void* w, DType w_dtype, const float* bias, float* y, int64_t m,
            int64_t n, int64_t k, Activations activations) {
  const KernelTable& t = Table();
  (activations == Activations::kLikeWeights ? t.mat_mul_like_weights : t.mat_mul)(x, w, w_dtype,
                                                                                  bias, y, m, n, k);
}

void MatMuls(const float* x, std::span<const MatMulOut> outs, int64_t m, int64_t k,
             Activations activations) {
  if (activations == Activations::kLikeWeights && ActiveIsa() == Isa::kAvx512Bf16) {
    return avx512bf16::MatMuls(x, outs, m, k);
  }
  for (const MatMulOut& o : outs) MatMul(x, o.w, o.w_dtype, o.bias, o.y, m, o.n, k, activations);
}

void RmsNorm(const float* x, const float* weight, float* y, int64_t rows, int64_t dim, float eps) {
  Table().rms_norm(x, weight, y, rows, dim, eps);
}

void SiluMul(const float* gate, const float* up, float* out, int64_t n) {
  Table().silu_mul(gate, up, out, n);
}

void Silu(float* x, int64_t n) { Table().silu(x, n); }
void GeluErf(float* x, int64_t n) { Table().gelu_erf(x, n); }
void GeluTanh(float* x, int64_t n) { Table().gelu_tanh(x, n); }

void Softmax(float* x, int64_t rows, int64_t cols) { Table().softmax(x, rows, cols); }

void LogSoftmax(const float* x, float* y, int64_t rows, int64_t cols) {
  Table().log_softmax(x, y, rows, cols);
}

void RopeNeox(float* x, const float* cos, const float* sin, int64_t n_tokens, int64_t n_heads,
              int64_t head_dim) {
  Table().rope_neox(x, cos, sin, n_tokens, n_heads, head_dim);
}

DType PreferredWeightLayout(DType w_dtype, int64_t n, int64_t k, Activations activations) {
  const bool vnni = activations == Activations::kLikeWeights && ActiveIsa() == Isa::kAvx512Bf16;
  return vnni && interleaved::Fits(w_dtype, n, k) ? interleaved::Of(w_dtype) : w_dtype;
}

void RepackWeights(const void* w, DType w_dtype, DType layout, void* dst, int64_t n, int64_t k) {
  if (!interleaved::IsInterleaved(layout) || interleaved::Base(layout) != w_dtype ||
      !interleaved::Fits(w_dtype, n, k)) {
    // Callers take `layout` from PreferredWeightLayout: this is a programming error.
    std::fprintf(stderr, "loom: RepackWeights: %.*s [%lld, %lld] into %.*s\n",
                 static_cast<int>(DTypeName(w_dtype).size()), DTypeName(w_dtype).data(),
                 static_cast<long long>(n), static_cast<long long>(k),
                 static_cast<int>(DTypeName(layout).size()), DTypeName(layout).data());
    std::abort();
  }
  interleaved::Interleave(w, layout, dst, n, k);
}

// Run at load time (whole tensors) or on single embedding rows: the scalar reference suffices.
void Dequantize(const void* src, DType t, float* dst, int64_t n) {
  ref::Dequantize(src, t, dst, n);
}
bool CanQuantize(DType t) { return ref::CanQuantize(t); }
void Quantize(const float* src, DType t, void* dst, int64_t n) { ref::Quantize(src, t, dst, n); }

// A conversion and copy of n rows, bound by memory: the scalar loop is the only implementation.
void WriteKv(const float* k, const float* v, void* k_cache, void* v_cache, DType kv_dtype,
             const int64_t* slot_mapping, int64_t n, int64_t n_kv_heads, int64_t head_dim,
             int64_t block_size) {
  ref::WriteKv(k, v, k_cache, v_cache, kv_dtype, slot_mapping, n, n_kv_heads, head_dim, block_size);
}

void PagedAttention(const float* q, const void* k_cache, const void* v_cache, DType kv_dtype,
                    int64_t block_size, const int32_t* block_tables, int64_t max_blocks_per_seq,
                    const int64_t* query_start, const int64_t* context_lens, int64_t num_seqs,
                    float* out, int64_t n_heads, int64_t n_kv_heads, int64_t head_dim,
                    int64_t window, float scale) {
  Table().paged_attention(q, k_cache, v_cache, kv_dtype, block_size, block_tables,
                          max_blocks_per_seq, query_start, context_lens, num_seqs, out, n_heads,
                          n_kv_heads, head_dim, window, scale);
}

}  // namespace loom::kernels
