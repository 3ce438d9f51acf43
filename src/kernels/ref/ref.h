// Scalar reference kernels: the test oracle for kernels/cpu and the kScalar dispatch target.
// Same contracts as kernels/kernels.h. Written for obvious correctness, not speed: sums and
// transcendental functions are evaluated in double and rounded to f32 once at the end.
#pragma once

#include <cstdint>

#include "core/dtype.h"

namespace loom::kernels::ref {

#include "kernels/kernel_signatures.inc"  // NOLINT(bugprone-suspicious-include)

// Causal attention over contiguous K/V, the oracle PagedAttention is checked against:
//   q [n_q, n_heads, head_dim], query i at position q_pos0 + i; k, v [n_kv, n_kv_heads, head_dim],
//   key j at position j; out [n_q, n_heads, head_dim]. Query head h reads KV head
//   h / (n_heads / n_kv_heads); query at p sees key j iff j <= p and (window <= 0 or p - j <
//   window).
void Attention(const float* q, const float* k, const float* v, float* out, int64_t n_q,
               int64_t n_kv, int64_t n_heads, int64_t n_kv_heads, int64_t head_dim, int64_t q_pos0,
               int64_t window, float scale);

void WriteKv(const float* k, const float* v, void* k_cache, void* v_cache, DType kv_dtype,
             const int64_t* slot_mapping, int64_t n, int64_t n_kv_heads, int64_t head_dim,
             int64_t block_size);

}  // namespace loom::kernels::ref
