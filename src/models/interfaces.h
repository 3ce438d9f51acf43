// The optional model interfaces (vLLM's `interfaces.py` in C++). A model class inherits the
// capability mixins it really implements; ModelInfo's flags are derived from those base classes
// (std::is_base_of_v), so a flag can never claim what the class does not implement. The engine
// decides caching, scheduling, batching, parallelism and routes from ModelInfo alone.
#pragma once

#include <map>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "core/status.h"
#include "core/tensor.h"
#include "loader/hf_config.h"

namespace loom {

// ---- Data exchanged through the interfaces ----

// Encoder outputs of a request's multimodal items, in prompt order: each item is f32
// [feature_len_i, hidden] (a 3-D [items, feature_len, hidden] batch is split into items).
struct MultiModalEmbeddings {
  std::vector<Tensor> items;
  int64_t TotalRows() const;
};

// Scatters `mm` into the rows of `embeds` (f32 [n_tokens, hidden]) where `is_multimodal[i]` is
// true, item after item in prompt order. Fails (and writes nothing) when the number of
// placeholder rows differs from the number of embedding rows, or hidden sizes differ.
Status MergeMultiModalEmbeddings(Tensor& embeds, const MultiModalEmbeddings& mm,
                                 std::span<const bool> is_multimodal);

// What pipeline stages pass each other: named f32 tensors, e.g. "hidden_states" and "residual",
// each [num_tokens, hidden].
class IntermediateTensors {
 public:
  void Set(const std::string& name, Tensor t) { tensors_[name] = std::move(t); }
  Result<Tensor> Get(const std::string& name) const;
  const std::map<std::string, Tensor>& tensors() const { return tensors_; }

 private:
  std::map<std::string, Tensor> tensors_;
};

enum class Modality { kImage, kAudio, kVideo };

// ---- The capability interfaces (contracts: ../shared/DESIGN.md §2) ----

class Model;

class SupportsMultiModal {
 public:
  virtual ~SupportsMultiModal() = default;
  struct Item {
    Modality modality;
    Tensor pixel_or_audio;  // preprocessed input, modality-specific layout
  };
  virtual Result<MultiModalEmbeddings> EmbedMultiModal(std::span<const Item> items) = 0;
  virtual Model& GetLanguageModel() = 0;
  // Token embeddings with multimodal rows scattered in (see MergeMultiModalEmbeddings).
  virtual Result<Tensor> EmbedInputIds(std::span<const int32_t> ids, const MultiModalEmbeddings& mm,
                                       std::span<const bool> is_multimodal) = 0;
  virtual std::string_view PlaceholderStr(Modality m) const = 0;
};

class SupportsLoRA {
 public:
  virtual ~SupportsLoRA() = default;
  // Fused module -> checkpoint sub-modules in slice order, e.g. qkv_proj -> q_proj, k_proj, v_proj.
  virtual std::map<std::string, std::vector<std::string>> PackedModulesMapping() const = 0;
  virtual std::vector<std::string> EmbeddingModules() const = 0;
};

class SupportsPP {
 public:
  virtual ~SupportsPP() = default;
  virtual IntermediateTensors MakeEmptyIntermediateTensors(int64_t num_tokens,
                                                           DType dtype) const = 0;
};

// Per-sequence recurrent state whose size does not grow with tokens.
class HasInnerState {
 public:
  virtual ~HasInnerState() = default;
  struct StateShapes {
    Shape conv;  // per layer, per sequence
    Shape ssm;
  };
  virtual StateShapes GetStateShapes() const = 0;
};

// No attention at all: the engine allocates no KV blocks.
class IsAttentionFree {
 public:
  virtual ~IsAttentionFree() = default;
};

// Attention and recurrent layers; both cache pools.
class IsHybrid {
 public:
  virtual ~IsHybrid() = default;
  virtual std::vector<bool> AttentionLayers() const = 0;  // true = attention, false = recurrent
};

// Some layers skip attention and/or FFN; no-op layers get no cache.
class HasNoOps {
 public:
  virtual ~HasNoOps() = default;
  virtual std::vector<bool> NoOpAttentionLayers() const = 0;
};

// Scores (query, document) pairs with a classifier head: /v1/score and /v1/rerank.
class SupportsCrossEncoding {
 public:
  virtual ~SupportsCrossEncoding() = default;
  virtual Result<std::vector<float>> Score(std::span<const int32_t> ids,
                                           std::span<const int32_t> token_type_ids) = 0;
};

class SupportsQuant {
 public:
  virtual ~SupportsQuant() = default;
  virtual std::string QuantMethod() const = 0;
  virtual std::map<std::string, std::vector<std::string>> QuantPackedMapping() const = 0;
};

class SupportsTranscription {
 public:
  virtual ~SupportsTranscription() = default;
  struct SpeechToTextConfig {
    int sample_rate = 16000;
    double max_audio_clip_s = 30.0;
  };
  virtual std::vector<std::string> SupportedLanguages() const = 0;
  virtual SpeechToTextConfig GetSpeechToTextConfig() const = 0;
  virtual Status ValidateLanguage(std::string_view language) const = 0;
  virtual std::vector<int32_t> DecoderPrompt(std::string_view language,
                                             std::string_view task) const = 0;
};

// Needs the legacy scheduling policy: whole-prompt prefill, no chunking, no prefix caching.
class SupportsV0Only {
 public:
  virtual ~SupportsV0Only() = default;
};

// ---- ModelInfo: the per-architecture summary the engine reads (no weights needed) ----

enum class RunnerType { kGenerate, kPooling, kTranscription };
enum class AttentionType { kDecoder, kEncoderOnly, kEncoderDecoder, kAttentionFree, kHybrid };

std::string_view RunnerTypeName(RunnerType t);
std::string_view AttentionTypeName(AttentionType t);

struct ModelInfo {
  std::string architecture;
  RunnerType runner = RunnerType::kGenerate;
  AttentionType attention = AttentionType::kDecoder;
  bool supports_multimodal = false;
  bool supports_lora = false;
  bool supports_pp = false;
  bool has_inner_state = false;
  bool is_attention_free = false;
  bool is_hybrid = false;
  bool has_noops = false;
  bool supports_cross_encoding = false;
  bool supports_quant = false;
  bool supports_transcription = false;
  bool supports_v0_only = false;

  bool operator==(const ModelInfo&) const = default;
};

// The flag names, in the order `loom models` prints them, with a pointer to each field.
struct ModelInfoFlag {
  std::string_view name;
  bool ModelInfo::*field;
};
std::span<const ModelInfoFlag> ModelInfoFlags();

template <typename M>
ModelInfo MakeModelInfo(std::string architecture, RunnerType runner, AttentionType attention) {
  ModelInfo info;
  info.architecture = std::move(architecture);
  info.runner = runner;
  info.attention = attention;
  info.supports_multimodal = std::is_base_of_v<SupportsMultiModal, M>;
  info.supports_lora = std::is_base_of_v<SupportsLoRA, M>;
  info.supports_pp = std::is_base_of_v<SupportsPP, M>;
  info.has_inner_state = std::is_base_of_v<HasInnerState, M>;
  info.is_attention_free = std::is_base_of_v<IsAttentionFree, M>;
  info.is_hybrid = std::is_base_of_v<IsHybrid, M>;
  info.has_noops = std::is_base_of_v<HasNoOps, M>;
  info.supports_cross_encoding = std::is_base_of_v<SupportsCrossEncoding, M>;
  info.supports_quant = std::is_base_of_v<SupportsQuant, M>;
  info.supports_transcription = std::is_base_of_v<SupportsTranscription, M>;
  info.supports_v0_only = std::is_base_of_v<SupportsV0Only, M>;
  return info;
}

}  // namespace loom
