// What each layer needs cached per sequence (DESIGN §3). The engine builds one pool per kind
// instead of forcing all kinds into one page size.
#pragma once

#include <cstdint>
#include <vector>

#include "core/dtype.h"
#include "core/tensor.h"

namespace loom {

enum class CacheKind {
  kFullAttention,   // K/V for every token: paged blocks
  kSlidingWindow,   // K/V for the last `window` tokens: paged blocks, older ones freeable
  kRecurrentState,  // fixed-size state (Mamba conv + ssm): one state slot per sequence
  kCrossAttention,  // encoder K/V (encoder-decoder): paged blocks sized by the encoder input
  kNone,            // no cache (no-op layer, encoder-only model)
};

struct LayerCacheSpec {
  CacheKind kind = CacheKind::kNone;
  int64_t num_kv_heads = 0;
  int64_t head_dim = 0;
  DType dtype = DType::kF32;
  int64_t window = 0;  // kSlidingWindow
  Shape conv_state;    // kRecurrentState, per sequence
  Shape ssm_state;     // kRecurrentState, per sequence

  bool UsesBlocks() const {
    return kind == CacheKind::kFullAttention || kind == CacheKind::kSlidingWindow ||
           kind == CacheKind::kCrossAttention;
  }
  bool UsesStateSlot() const { return kind == CacheKind::kRecurrentState; }
  // K and V bytes of one token (block-using kinds).
  int64_t BytesPerToken() const { return UsesBlocks() ? 2 * num_kv_heads * head_dim * DTypeSize(dtype) : 0; }
  // Bytes of one sequence's state (kRecurrentState).
  int64_t StateBytes() const {
    return UsesStateSlot() ? (NumElements(conv_state) + NumElements(ssm_state)) * DTypeSize(dtype) : 0;
  }
};

// Sizes of the pools a list of layer specs needs.
struct PoolPlan {
  int64_t kv_bytes_per_token = 0;  // summed over block-using layers
  int64_t state_bytes_per_seq = 0; // summed over recurrent layers
  int num_block_layers = 0;
  int num_state_layers = 0;
};

inline PoolPlan PlanPools(const std::vector<LayerCacheSpec>& layers) {
  PoolPlan p;
  for (const LayerCacheSpec& l : layers) {
    p.kv_bytes_per_token += l.BytesPerToken();
    p.state_bytes_per_seq += l.StateBytes();
    p.num_block_layers += l.UsesBlocks() ? 1 : 0;
    p.num_state_layers += l.UsesStateSlot() ? 1 : 0;
  }
  return p;
}

}  // namespace loom
