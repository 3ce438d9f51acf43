// The base of every model: a causal decoder that runs one flat batch of tokens from many
// sequences against the paged KV cache. Capabilities beyond that come from the mixins in
// interfaces.h.
#pragma once

#include <memory>
#include <span>

#include "core/status.h"
#include "core/tensor.h"
#include "loader/hf_config.h"
#include "models/cache_spec.h"
#include "models/forward_batch.h"
#include "models/interfaces.h"
#include "models/layers/kv_cache.h"

namespace loom {

class Model {
 public:
  virtual ~Model() = default;

  virtual const ModelConfig& config() const = 0;
  virtual const ModelInfo& info() const = 0;

  // What each layer caches per token or sequence (index = layer), in the weights' dtype.
  virtual std::vector<LayerCacheSpec> CacheSpecs() const = 0;
  // The dtype of the checkpoint's weights, maybe block-quantized (kv-cache-dtype "auto" follows
  // it, with bf16 for quantized weights).
  virtual DType weight_dtype() const = 0;

  // Runs the batch: writes every token's K/V into its cache slot, attends over each sequence's
  // blocks. Returns the final hidden states, f32 [n_tokens, hidden] (after the last norm).
  virtual Result<Tensor> Forward(const ForwardBatch& batch, PagedKvCache& cache) = 0;

  // hidden f32 [m, hidden] -> logits f32 [m, vocab]
  virtual Tensor ComputeLogits(const Tensor& hidden) const = 0;

  // Bytes of weights one forward step reads whatever its batch size: every Linear weight matrix
  // (as stored: bf16, block-quantized, ...) and the LM head. Biases, norm scales and the
  // embedding rows looked up are left out (negligible). `loom bench latency` multiplies it by
  // decode steps/s to get the weight bandwidth.
  virtual int64_t WeightBytesPerToken() const = 0;
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
