#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "kernels/kernels.h"
#include "kernels/ref/ref.h"

namespace loom::kernels::ref {
namespace {

// Element `i` of a KV cache in `dtype`, widened to f32 (exact for f16 and bf16).
float CacheAt(const void* cache, DType dtype, int64_t i) {
  switch (dtype) {
    case DType::kF32:
      return static_cast<const float*>(cache)[i];
    case DType::kF16:
      return F16ToF32(static_cast<const uint16_t*>(cache)[i]);
    case DType::kBF16:
      return BF16ToF32(static_cast<const uint16_t*>(cache)[i]);
    default:
      break;  // KV caches are f32, f16 or bf16
  }
  return 0.0f;
}

// cache[base : base + n] = src[0 : n] converted to `dtype`.
void StoreRow(const float* src, void* cache, DType dtype, int64_t base, int64_t n) {
  switch (dtype) {
    case DType::kF32:
      for (int64_t e = 0; e < n; ++e) static_cast<float*>(cache)[base + e] = src[e];
      return;
    case DType::kF16:
      for (int64_t e = 0; e < n; ++e) static_cast<uint16_t*>(cache)[base + e] = F32ToF16(src[e]);
      return;
    case DType::kBF16:
      for (int64_t e = 0; e < n; ++e) static_cast<uint16_t*>(cache)[base + e] = F32ToBF16(src[e]);
      return;
    default:
      return;  // KV caches are f32, f16 or bf16
  }
}

}  // namespace

void WriteKv(const float* k, const float* v, void* k_cache, void* v_cache, DType kv_dtype,
             const int64_t* slot_mapping, int64_t n, int64_t n_kv_heads, int64_t head_dim,
             int64_t block_size) {
  for (int64_t i = 0; i < n; ++i) {
    const int64_t slot = slot_mapping[i];
    if (slot < 0) continue;
    for (int64_t h = 0; h < n_kv_heads; ++h) {
      const int64_t at = KvCacheOffset(slot, h, n_kv_heads, head_dim, block_size);
      const int64_t from = (i * n_kv_heads + h) * head_dim;
      StoreRow(k + from, k_cache, kv_dtype, at, head_dim);
      StoreRow(v + from, v_cache, kv_dtype, at, head_dim);
    }
  }
}

void PagedAttention(const float* q, const void* k_cache, const void* v_cache, DType kv_dtype,
                    int64_t block_size, const int32_t* block_tables, int64_t max_blocks_per_seq,
                    const int64_t* query_start, const int64_t* context_lens, int64_t num_seqs,
                    float* out, int64_t n_heads, int64_t n_kv_heads, int64_t head_dim,
                    int64_t window, float scale) {
  const int64_t group = n_heads / n_kv_heads;
  std::vector<double> scores;
  std::vector<double> acc(head_dim);
  for (int64_t s = 0; s < num_seqs; ++s) {
    const int64_t n_ctx = context_lens[s];
    const int64_t n_q = query_start[s + 1] - query_start[s];
    const int32_t* table = block_tables + s * max_blocks_per_seq;
    scores.resize(n_ctx);
    for (int64_t i = 0; i < n_q; ++i) {
      const int64_t t = query_start[s] + i;  // row of q and out
      const int64_t p = n_ctx - n_q + i;
      for (int64_t h = 0; h < n_heads; ++h) {
        const float* qh = q + (t * n_heads + h) * head_dim;
        const int64_t kvh = h / group;
        double max = -std::numeric_limits<double>::infinity();
        for (int64_t j = 0; j < n_ctx; ++j) {
          const bool visible = j <= p && (window <= 0 || p - j < window);
          if (!visible) {
            scores[j] = -std::numeric_limits<double>::infinity();
            continue;
          }
          const int64_t slot = int64_t{table[j / block_size]} * block_size + j % block_size;
          const int64_t kj = KvCacheOffset(slot, kvh, n_kv_heads, head_dim, block_size);
          double dot = 0.0;
          for (int64_t d = 0; d < head_dim; ++d) {
            dot += static_cast<double>(qh[d]) * CacheAt(k_cache, kv_dtype, kj + d);
          }
          scores[j] = dot * scale;
          max = std::fmax(max, scores[j]);
        }
        double sum = 0.0;
        for (int64_t j = 0; j < n_ctx; ++j) {
          scores[j] = std::exp(scores[j] - max);  // exp(-inf) = 0 for masked keys
          sum += scores[j];
        }
        std::fill(acc.begin(), acc.end(), 0.0);
        for (int64_t j = 0; j < n_ctx; ++j) {
          if (scores[j] == 0.0) continue;
          const int64_t slot = int64_t{table[j / block_size]} * block_size + j % block_size;
          const int64_t vj = KvCacheOffset(slot, kvh, n_kv_heads, head_dim, block_size);
          for (int64_t d = 0; d < head_dim; ++d) {
            acc[d] += scores[j] * CacheAt(v_cache, kv_dtype, vj + d);
          }
        }
        float* oh = out + (t * n_heads + h) * head_dim;
        for (int64_t d = 0; d < head_dim; ++d) oh[d] = static_cast<float>(acc[d] / sum);
      }
    }
  }
}

}  // namespace loom::kernels::ref
