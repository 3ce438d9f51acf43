// Self-attention of the Llama family: q/k/v/o projections (optional bias), optional per-head
// q/k RMSNorm (Qwen3), RoPE, GQA and an optional sliding window.
#pragma once

#include "kernels/kernels.h"
#include "loader/hf_config.h"
#include "models/forward_batch.h"
#include "models/layers/linear.h"

namespace loom {

struct SelfAttentionConfig {
  int64_t hidden = 0;
  int64_t n_heads = 0;
  int64_t n_kv_heads = 0;
  int64_t head_dim = 0;
  bool qkv_bias = false;
  bool o_bias = false;
  bool qk_norm = false;
  float norm_eps = 1e-6f;
  int64_t window = 0;  // 0 = full causal attention
};

class SelfAttention {
 public:
  static Result<SelfAttention> Load(const WeightLoader& w, const std::string& prefix,
                                    const SelfAttentionConfig& c);

  // x f32 [n, hidden] -> out f32 [n, hidden] for the batch's tokens; cos/sin f32 [n, head_dim/2]
  // per token. Writes the tokens' K/V into this layer's paged cache (k_cache, v_cache
  // [num_blocks, n_kv_heads, block_size, head_dim]) before attending.
  void Forward(const float* x, float* out, const ForwardBatch& batch, const float* cos,
               const float* sin, Tensor& k_cache, Tensor& v_cache, int64_t block_size) const;

  int64_t window() const { return c_.window; }
  // Bytes of the q/k/v/o weight matrices.
  int64_t WeightBytes() const {
    return q_.WeightBytes() + k_.WeightBytes() + v_.WeightBytes() + o_.WeightBytes();
  }

 private:
  SelfAttentionConfig c_;
  Linear q_, k_, v_, o_;
  Tensor q_norm_, k_norm_;  // f32 [head_dim] when qk_norm
};

}  // namespace loom
