#include "models/layers/attention.h"

#include <cmath>
#include <cstring>

#include "models/layers/step_buffers.h"

namespace loom {

Result<SelfAttention> SelfAttention::Load(const WeightLoader& w, const std::string& prefix,
                                          const SelfAttentionConfig& c) {
  SelfAttention a;
  a.c_ = c;
  const int64_t q_dim = c.n_heads * c.head_dim, kv_dim = c.n_kv_heads * c.head_dim;
  LOOM_ASSIGN_OR_RETURN(a.q_, Linear::Load(w, prefix + ".q_proj", c.hidden, q_dim, c.qkv_bias));
  LOOM_ASSIGN_OR_RETURN(a.k_, Linear::Load(w, prefix + ".k_proj", c.hidden, kv_dim, c.qkv_bias));
  LOOM_ASSIGN_OR_RETURN(a.v_, Linear::Load(w, prefix + ".v_proj", c.hidden, kv_dim, c.qkv_bias));
  LOOM_ASSIGN_OR_RETURN(a.o_, Linear::Load(w, prefix + ".o_proj", q_dim, c.hidden, c.o_bias));
  if (c.qk_norm) {
    LOOM_ASSIGN_OR_RETURN(a.q_norm_, w.GetF32(prefix + ".q_norm.weight", {c.head_dim}));
    LOOM_ASSIGN_OR_RETURN(a.k_norm_, w.GetF32(prefix + ".k_norm.weight", {c.head_dim}));
  }
  return a;
}

void SelfAttention::Forward(const float* x, float* out, const ForwardBatch& batch, const float* cos,
                            const float* sin, Tensor& k_cache, Tensor& v_cache,
                            int64_t block_size) const {
  const int64_t n = batch.num_tokens(), hd = c_.head_dim, kv_dim = c_.n_kv_heads * hd;
  float* q = StepBufferOf(StepBuffer::kQ, n * c_.n_heads * hd);        // f32 [n, heads, hd]
  float* attn = StepBufferOf(StepBuffer::kAttn, n * c_.n_heads * hd);  // f32 [n, heads, hd]
  float* k = StepBufferOf(StepBuffer::kK, n * kv_dim);                 // f32 [n, kv_heads, hd]
  float* v = StepBufferOf(StepBuffer::kV, n * kv_dim);                 // f32 [n, kv_heads, hd]
  Linear::ForwardShared<3>(x, n, {&q_, &k_, &v_}, {q, k, v});
  if (c_.qk_norm) {
    kernels::RmsNorm(q, q_norm_.data<float>(), q, n * c_.n_heads, hd, c_.norm_eps);
    kernels::RmsNorm(k, k_norm_.data<float>(), k, n * c_.n_kv_heads, hd, c_.norm_eps);
  }
  kernels::RopeNeox(q, cos, sin, n, c_.n_heads, hd);
  kernels::RopeNeox(k, cos, sin, n, c_.n_kv_heads, hd);
  kernels::WriteKv(k, v, k_cache.raw(), v_cache.raw(), k_cache.dtype(), batch.slot_mapping.data(),
                   n, c_.n_kv_heads, hd, block_size);
  kernels::PagedAttention(q, k_cache.raw(), v_cache.raw(), k_cache.dtype(), block_size,
                          batch.block_tables.data(), batch.max_blocks_per_seq,
                          batch.query_start.data(), batch.context_lens.data(), batch.num_seqs(),
                          attn, c_.n_heads, c_.n_kv_heads, hd, c_.window,
                          1.0f / std::sqrt(static_cast<float>(hd)));
  o_.Forward(attn, out, n);
}

}  // namespace loom
