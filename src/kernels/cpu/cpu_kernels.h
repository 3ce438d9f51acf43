// Per-ISA fast paths of the kernels in kernels/kernels.h, same contracts. Call only when
// IsaSupported() says the CPU can run them (kernels.cc dispatches; tests call them directly).
//
// Each body is written once as a template over a small vector layer (vec_avx512.h, vec_avx2.h)
// in cpu/<concern>_impl.h and compiled per ISA in cpu/<concern>_<isa>.cc with that ISA's flags.
#pragma once

#include <cstdint>

#include "core/dtype.h"

namespace loom::kernels::avx512 {

void MatMul(const float* x, const void* w, DType w_dtype, const float* bias, float* y, int64_t m,
            int64_t n, int64_t k);
void RmsNorm(const float* x, const float* weight, float* y, int64_t rows, int64_t dim, float eps);
void SiluMul(const float* gate, const float* up, float* out, int64_t n);
void Silu(float* x, int64_t n);
void GeluErf(float* x, int64_t n);
void GeluTanh(float* x, int64_t n);
void Softmax(float* x, int64_t rows, int64_t cols);
void LogSoftmax(const float* x, float* y, int64_t rows, int64_t cols);
void RopeNeox(float* x, const float* cos, const float* sin, int64_t n_tokens, int64_t n_heads,
              int64_t head_dim);

void PagedAttention(const float* q, const void* k_cache, const void* v_cache, DType kv_dtype,
                    int64_t block_size, const int32_t* block_tables, int64_t max_blocks_per_seq,
                    const int64_t* query_start, const int64_t* context_lens, int64_t num_seqs,
                    float* out, int64_t n_heads, int64_t n_kv_heads, int64_t head_dim,
                    int64_t window, float scale);

}  // namespace loom::kernels::avx512

namespace loom::kernels::avx2 {

void MatMul(const float* x, const void* w, DType w_dtype, const float* bias, float* y, int64_t m,
            int64_t n, int64_t k);
void RmsNorm(const float* x, const float* weight, float* y, int64_t rows, int64_t dim, float eps);
void SiluMul(const float* gate, const float* up, float* out, int64_t n);
void Silu(float* x, int64_t n);
void GeluErf(float* x, int64_t n);
void GeluTanh(float* x, int64_t n);
void Softmax(float* x, int64_t rows, int64_t cols);
void LogSoftmax(const float* x, float* y, int64_t rows, int64_t cols);
void RopeNeox(float* x, const float* cos, const float* sin, int64_t n_tokens, int64_t n_heads,
              int64_t head_dim);

void PagedAttention(const float* q, const void* k_cache, const void* v_cache, DType kv_dtype,
                    int64_t block_size, const int32_t* block_tables, int64_t max_blocks_per_seq,
                    const int64_t* query_start, const int64_t* context_lens, int64_t num_seqs,
                    float* out, int64_t n_heads, int64_t n_kv_heads, int64_t head_dim,
                    int64_t window, float scale);

}  // namespace loom::kernels::avx2
