// The paged KV cache of one model: per attention layer, K and V blocks of `block_size` tokens.
// Block ids come from the engine's BlockPool; a token's row is its slot (block * block_size +
// offset). Storage is mapped lazily, so an unused pool costs no memory.
#pragma once

#include <vector>

#include "core/tensor.h"
#include "models/cache_spec.h"

namespace loom {

struct PagedKvCache {
  int64_t num_blocks = 0;
  int64_t block_size = 0;
  DType dtype = DType::kF32;
  std::vector<Tensor> k;  // per layer (index = layer; undefined for layers without blocks):
  std::vector<Tensor> v;  //   dtype [num_blocks, n_kv_heads, block_size, head_dim]

  static PagedKvCache Make(const std::vector<LayerCacheSpec>& layers, int64_t num_blocks,
                           int64_t block_size, DType dtype) {
    PagedKvCache c;
    c.num_blocks = num_blocks;
    c.block_size = block_size;
    c.dtype = dtype;
    for (const LayerCacheSpec& l : layers) {
      if (!l.UsesBlocks()) {
        c.k.emplace_back();
        c.v.emplace_back();
        continue;
      }
      const Shape shape = {num_blocks, l.num_kv_heads, block_size, l.head_dim};
      c.k.push_back(Tensor::LazyZeros(dtype, shape));
      c.v.push_back(Tensor::LazyZeros(dtype, shape));
    }
    return c;
  }
};

}  // namespace loom
