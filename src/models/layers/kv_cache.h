// Keys and values of one sequence, contiguous per layer (the paged pool replaces this in the
// engine issue). Keys are stored after RoPE, as HF's DynamicCache does.
#pragma once

#include <vector>

#include "core/tensor.h"

namespace loom {

struct KvCache {
  std::vector<Tensor> k;  // per layer: f32 [capacity, n_kv_heads, head_dim]
  std::vector<Tensor> v;  // per layer: f32 [capacity, n_kv_heads, head_dim]
  int64_t length = 0;     // tokens stored
  int64_t capacity = 0;

  static KvCache Make(int64_t layers, int64_t capacity, int64_t n_kv_heads, int64_t head_dim) {
    KvCache c;
    c.capacity = capacity;
    for (int64_t i = 0; i < layers; ++i) {
      c.k.push_back(Tensor::Zeros(DType::kF32, {capacity, n_kv_heads, head_dim}));
      c.v.push_back(Tensor::Zeros(DType::kF32, {capacity, n_kv_heads, head_dim}));
    }
    return c;
  }
};

}  // namespace loom
