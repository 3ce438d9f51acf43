#include "models/llama.h"

#include <cstring>

#include "kernels/kernels.h"
#include "models/gptq_awq.h"
#include "models/layers/step_buffers.h"
#include "models/registry.h"

namespace loom {
namespace {

// The sliding window of layer `i` as each architecture's HF config defines it; 0 = none.
int64_t LayerWindow(const ModelConfig& c, const std::string& arch, int64_t i) {
  if (arch == "MistralForCausalLM") {
    if (!c.raw.contains("sliding_window")) return 4096;  // MistralConfig default
    return c.sliding_window;
  }
  if (arch == "Qwen2ForCausalLM" || arch == "Qwen3ForCausalLM") {
    if (c.raw.contains("layer_types") && c.raw["layer_types"].is_array() &&
        static_cast<int64_t>(c.raw["layer_types"].size()) == c.num_hidden_layers) {
      return c.raw["layer_types"][i] == "sliding_attention" ? c.sliding_window : 0;
    }
    return c.use_sliding_window && i >= c.max_window_layers ? c.sliding_window : 0;
  }
  return 0;
}

}  // namespace

LlamaForCausalLM::LlamaForCausalLM(const ModelConfig& config, ModelInfo info)
    : config_(config), info_(std::move(info)), rope_(config, config.head_dim) {}

Result<std::unique_ptr<Model>> LlamaForCausalLM::Create(const ModelConfig& c,
                                                        const WeightStore& store,
                                                        const LoadOptions& options) {
  const std::string& arch = c.architectures[0];
  LOOM_ASSIGN_OR_RETURN(ModelInfo info, GetModelInfo(arch));
  if (c.hidden_act != "silu") {
    return Unimplemented("{}: hidden_act '{}' is not supported (silu)", arch, c.hidden_act);
  }
  std::unique_ptr<LlamaForCausalLM> m(new LlamaForCausalLM(c, std::move(info)));
  if (c.quantization) {
    if (options.quantization) {
      return InvalidArgument(
          "--quantization {} cannot be applied to this checkpoint: its weights are already "
          "{}-quantized",
          DTypeName(*options.quantization), c.quantization->method);
    }
    LOOM_RETURN_IF_ERROR(
        CheckFusedQuantization(store, m->QuantPackedMapping(), c.quantization->method));
  }
  const WeightLoader w(store, options, c.quantization);
  if (options.quantization) {
    m->quant_method_ = DTypeName(*options.quantization);
  } else if (c.raw.contains("quantization_config")) {
    m->quant_method_ = c.raw["quantization_config"].value("quant_method", "");
  }
  LOOM_ASSIGN_OR_RETURN(m->embed_,
                        w.Get("model.embed_tokens.weight", {c.vocab_size, c.hidden_size}));
  for (int64_t i = 0; i < c.num_hidden_layers; ++i) {
    const std::string p = "model.layers." + std::to_string(i);
    SelfAttentionConfig ac;
    ac.hidden = c.hidden_size;
    ac.n_heads = c.num_attention_heads;
    ac.n_kv_heads = c.num_key_value_heads;
    ac.head_dim = c.head_dim;
    ac.qkv_bias = arch == "Qwen2ForCausalLM" || c.attention_bias;
    ac.o_bias = arch != "Qwen2ForCausalLM" && c.attention_bias;
    ac.qk_norm = arch == "Qwen3ForCausalLM";
    ac.norm_eps = static_cast<float>(c.rms_norm_eps);
    ac.window = LayerWindow(c, arch, i);
    Layer layer;
    LOOM_ASSIGN_OR_RETURN(layer.input_norm,
                          w.GetF32(p + ".input_layernorm.weight", {c.hidden_size}));
    LOOM_ASSIGN_OR_RETURN(layer.attn, SelfAttention::Load(w, p + ".self_attn", ac));
    LOOM_ASSIGN_OR_RETURN(layer.post_attention_norm,
                          w.GetF32(p + ".post_attention_layernorm.weight", {c.hidden_size}));
    LOOM_ASSIGN_OR_RETURN(
        layer.mlp, GatedMlp::Load(w, p + ".mlp", c.hidden_size, c.intermediate_size, c.mlp_bias));
    m->layers_.push_back(std::move(layer));
  }
  LOOM_ASSIGN_OR_RETURN(m->final_norm_, w.GetF32("model.norm.weight", {c.hidden_size}));
  if (c.tie_word_embeddings) {
    m->lm_head_.weight = m->embed_;
    m->lm_head_.in = c.hidden_size;
    m->lm_head_.out = c.vocab_size;
    m->lm_head_.activations = options.activations;
  } else {
    LOOM_ASSIGN_OR_RETURN(m->lm_head_,
                          Linear::Load(w, "lm_head", c.hidden_size, c.vocab_size, false));
  }
  return std::unique_ptr<Model>(std::move(m));
}

std::vector<LayerCacheSpec> LlamaForCausalLM::CacheSpecs() const {
  std::vector<LayerCacheSpec> specs;
  for (const Layer& l : layers_) {
    LayerCacheSpec s;
    s.kind = l.attn.window() > 0 ? CacheKind::kSlidingWindow : CacheKind::kFullAttention;
    s.num_kv_heads = config_.num_key_value_heads;
    s.head_dim = config_.head_dim;
    s.dtype = weight_dtype();
    s.window = l.attn.window();
    specs.push_back(s);
  }
  return specs;
}

Result<Tensor> LlamaForCausalLM::Forward(const ForwardBatch& batch, PagedKvCache& cache) {
  const int64_t n = batch.num_tokens(), h = config_.hidden_size;
  Tensor x = Tensor::Zeros(DType::kF32, {n, h});          // f32 [n, hidden], the residual stream
  const int64_t row_bytes = RowBytes(embed_.dtype(), h);  // a row may be block-quantized
  for (int64_t t = 0; t < n; ++t) {
    const int32_t id = batch.token_ids[t];
    if (id < 0 || id >= config_.vocab_size) {
      return InvalidArgument("token id {} is out of range [0, {})", id, config_.vocab_size);
    }
    kernels::Dequantize(static_cast<const char*>(embed_.raw()) + id * row_bytes, embed_.dtype(),
                        x.data<float>() + t * h, h);
  }

  // RoPE tables per token. Dynamic NTK derives its base from each sequence's length after this
  // step, so tables are made sequence by sequence.
  const int64_t half = config_.head_dim / 2;
  std::vector<float> cos(n * half), sin(n * half);  // f32 [n, head_dim/2]
  for (int64_t s = 0; s < batch.num_seqs(); ++s) {
    const int64_t b = batch.query_start[s], e = batch.query_start[s + 1];
    rope_.Tables(std::span<const int64_t>(batch.positions).subspan(b, e - b), batch.context_lens[s],
                 cos.data() + b * half, sin.data() + b * half);
  }

  const float eps = static_cast<float>(config_.rms_norm_eps);
  float* normed = StepBufferOf(StepBuffer::kNormed, n * h);  // f32 [n, hidden]
  float* delta = StepBufferOf(StepBuffer::kDelta, n * h);    // f32 [n, hidden]
  float* xs = x.data<float>();
  for (size_t i = 0; i < layers_.size(); ++i) {
    const Layer& l = layers_[i];
    kernels::RmsNorm(xs, l.input_norm.data<float>(), normed, n, h, eps);
    l.attn.Forward(normed, delta, batch, cos.data(), sin.data(), cache.k[i], cache.v[i],
                   cache.block_size);
    for (int64_t j = 0; j < n * h; ++j) xs[j] += delta[j];
    kernels::RmsNorm(xs, l.post_attention_norm.data<float>(), normed, n, h, eps);
    l.mlp.Forward(normed, delta, n);
    for (int64_t j = 0; j < n * h; ++j) xs[j] += delta[j];
  }
  kernels::RmsNorm(xs, final_norm_.data<float>(), xs, n, h, eps);
  return x;
}

int64_t LlamaForCausalLM::WeightBytesPerToken() const {
  int64_t bytes = lm_head_.WeightBytes();  // tied: the embedding matrix, read whole by the head
  for (const Layer& l : layers_) bytes += l.attn.WeightBytes() + l.mlp.WeightBytes();
  return bytes;
}

Tensor LlamaForCausalLM::ComputeLogits(const Tensor& hidden) const {
  const int64_t m = hidden.dim(0);
  Tensor logits = Tensor::Zeros(DType::kF32, {m, config_.vocab_size});
  lm_head_.Forward(hidden.data<float>(), logits.data<float>(), m);
  return logits;
}

}  // namespace loom
