// The Llama family: LlamaForCausalLM, MistralForCausalLM (sliding window), Qwen2ForCausalLM (qkv
// bias), Qwen3ForCausalLM (per-head q/k RMSNorm). One class; the architecture picks the variant.
// SupportsQuant: weights may be block-quantized (GGUF files, --quantization at load) or come from
// a GPTQ / AWQ checkpoint (repacked exactly at load, models/gptq_awq.h).
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "models/layers/attention.h"
#include "models/layers/linear.h"
#include "models/layers/mlp.h"
#include "models/layers/rope.h"
#include "models/model.h"

namespace loom {

class LlamaForCausalLM : public Model, public SupportsQuant {
 public:
  static Result<std::unique_ptr<Model>> Create(const ModelConfig& config,
                                               const WeightStore& weights,
                                               const LoadOptions& options);

  // "gguf" (a GGUF file's own types), "gptq" / "awq" (config.json quantization_config), the
  // --quantization type ("q8_0", ...), or "" (none).
  std::string QuantMethod() const override { return quant_method_; }
  // vLLM's packed_modules_mapping: the checkpoint modules each fused module stands for.
  std::map<std::string, std::vector<std::string>> QuantPackedMapping() const override {
    return {{"qkv_proj", {"q_proj", "k_proj", "v_proj"}},
            {"gate_up_proj", {"gate_proj", "up_proj"}}};
  }

  const ModelConfig& config() const override { return config_; }
  const ModelInfo& info() const override { return info_; }
  std::vector<LayerCacheSpec> CacheSpecs() const override;
  DType weight_dtype() const override { return embed_.dtype(); }
  Result<Tensor> Forward(const ForwardBatch& batch, PagedKvCache& cache) override;
  Tensor ComputeLogits(const Tensor& hidden) const override;
  int64_t WeightBytesPerToken() const override;

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
  std::string quant_method_;
  Rope rope_;
  Tensor embed_;  // [vocab, hidden], any DType (rows dequantized on lookup)
  std::vector<Layer> layers_;
  Tensor final_norm_;  // f32 [hidden]
  Linear lm_head_;     // [vocab, hidden]; its weight is embed_ when tied
};

}  // namespace loom
