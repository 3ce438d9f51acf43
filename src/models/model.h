// The base of every model: a causal decoder that runs tokens of one sequence against its cache.
// Capabilities beyond that come from the mixins in interfaces.h.
#pragma once

#include <memory>
#include <span>

#include "core/status.h"
#include "core/tensor.h"
#include "loader/hf_config.h"
#include "models/interfaces.h"
#include "models/layers/kv_cache.h"

namespace loom {

class Model {
 public:
  virtual ~Model() = default;

  virtual const ModelConfig& config() const = 0;
  virtual const ModelInfo& info() const = 0;

  // A cache for one sequence of up to `capacity` tokens.
  virtual KvCache NewCache(int64_t capacity) const = 0;

  // Runs `ids` at positions [cache.length, cache.length + n) and appends their keys and values.
  // Returns the final hidden states, f32 [n, hidden] (after the last norm).
  virtual Result<Tensor> Forward(std::span<const int32_t> ids, KvCache& cache) = 0;

  // hidden f32 [m, hidden] -> logits f32 [m, vocab]
  virtual Tensor ComputeLogits(const Tensor& hidden) const = 0;
};

// Query helpers on an instance (vLLM's supports_lora(model) etc.): the interface or null.
template <typename Interface>
Interface* As(Model& model) {
  return dynamic_cast<Interface*>(&model);
}
template <typename Interface>
bool Implements(const Model& model) {
  return dynamic_cast<const Interface*>(&model) != nullptr;
}

// The flags an instance really implements, computed from its dynamic type; equals the
// registry's ModelInfo for its architecture (tested).
ModelInfo InfoOf(const Model& model);

}  // namespace loom
