// The Llama family: LlamaForCausalLM, MistralForCausalLM (sliding window), Qwen2ForCausalLM (qkv
// bias), Qwen3ForCausalLM (per-head q/k RMSNorm). One class; the architecture picks the variant.
// It declares no optional interface yet: each lands with the engine work that makes it real.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "models/layers/attention.h"
#include "models/layers/mlp.h"
#include "models/layers/rope.h"
#include "models/model.h"

namespace loom {

class LlamaForCausalLM : public Model {
 public:
  static Result<std::unique_ptr<Model>> Create(const ModelConfig& config,
                                               const WeightStore& weights);

  const ModelConfig& config() const override { return config_; }
  const ModelInfo& info() const override { return info_; }
  std::vector<LayerCacheSpec> CacheSpecs() const override;
  DType weight_dtype() const override { return embed_.dtype(); }
  Result<Tensor> Forward(const ForwardBatch& batch, PagedKvCache& cache) override;
  Tensor ComputeLogits(const Tensor& hidden) const override;

 private:
  struct Layer {
    Tensor input_norm;  // f32 [hidden]
    SelfAttention attn;
    Tensor post_attention_norm;  // f32 [hidden]
    GatedMlp mlp;
  };

  LlamaForCausalLM(const ModelConfig& config, ModelInfo info);

  ModelConfig config_;
  ModelInfo info_;
  Rope rope_;
  Tensor embed_;  // f32/f16/bf16 [vocab, hidden]
  std::vector<Layer> layers_;
  Tensor final_norm_;  // f32 [hidden]
  Tensor lm_head_;     // [vocab, hidden]; shares embed_ when tied
};

}  // namespace loom
