#include "models/interfaces.h"

#include <cstring>

#include "models/model.h"

namespace loom {

int64_t MultiModalEmbeddings::TotalRows() const {
  int64_t rows = 0;
  for (const Tensor& t : items) rows += t.dim(0);
  return rows;
}

Status MergeMultiModalEmbeddings(Tensor& embeds, const MultiModalEmbeddings& mm,
                                 std::span<const bool> is_multimodal) {
  const int64_t n = embeds.dim(0), hidden = embeds.dim(1);
  if (static_cast<int64_t>(is_multimodal.size()) != n) {
    return InvalidArgument("multimodal mask has {} entries for {} tokens", is_multimodal.size(), n);
  }
  int64_t placeholders = 0;
  for (bool b : is_multimodal) placeholders += b ? 1 : 0;
  if (placeholders != mm.TotalRows()) {
    return InvalidArgument(
        "prompt has {} multimodal placeholder tokens but the items produced {} embeddings",
        placeholders, mm.TotalRows());
  }
  for (const Tensor& t : mm.items) {
    if (t.ndim() != 2 || t.dim(1) != hidden || t.dtype() != DType::kF32) {
      return InvalidArgument("multimodal embedding of shape {} does not match hidden size {}",
                             ShapeString(t.shape()), hidden);
    }
  }
  size_t item = 0;
  int64_t item_row = 0;
  for (int64_t i = 0; i < n; ++i) {
    if (!is_multimodal[i]) continue;
    while (item_row == mm.items[item].dim(0)) {
      ++item;
      item_row = 0;
    }
    std::memcpy(embeds.data<float>() + i * hidden, mm.items[item].data<float>() + item_row * hidden,
                hidden * sizeof(float));
    ++item_row;
  }
  return Status::Ok();
}

Result<Tensor> IntermediateTensors::Get(const std::string& name) const {
  auto it = tensors_.find(name);
  if (it == tensors_.end()) return NotFound("intermediate tensor '{}' is missing", name);
  return it->second;
}

std::string_view RunnerTypeName(RunnerType t) {
  switch (t) {
    case RunnerType::kGenerate:
      return "generate";
    case RunnerType::kPooling:
      return "pooling";
    case RunnerType::kTranscription:
      return "transcription";
  }
  return "?";
}

std::string_view AttentionTypeName(AttentionType t) {
  switch (t) {
    case AttentionType::kDecoder:
      return "decoder";
    case AttentionType::kEncoderOnly:
      return "encoder-only";
    case AttentionType::kEncoderDecoder:
      return "encoder-decoder";
    case AttentionType::kAttentionFree:
      return "attention-free";
    case AttentionType::kHybrid:
      return "hybrid";
  }
  return "?";
}

std::span<const ModelInfoFlag> ModelInfoFlags() {
  static constexpr ModelInfoFlag kFlags[] = {
      {"supports_multimodal", &ModelInfo::supports_multimodal},
      {"supports_lora", &ModelInfo::supports_lora},
      {"supports_pp", &ModelInfo::supports_pp},
      {"has_inner_state", &ModelInfo::has_inner_state},
      {"is_attention_free", &ModelInfo::is_attention_free},
      {"is_hybrid", &ModelInfo::is_hybrid},
      {"has_noops", &ModelInfo::has_noops},
      {"supports_cross_encoding", &ModelInfo::supports_cross_encoding},
      {"supports_quant", &ModelInfo::supports_quant},
      {"supports_transcription", &ModelInfo::supports_transcription},
      {"supports_v0_only", &ModelInfo::supports_v0_only},
  };
  return kFlags;
}

ModelInfo InfoOf(const Model& model) {
  ModelInfo info = model.info();  // names, runner and attention type
  info.supports_multimodal = Implements<SupportsMultiModal>(model);
  info.supports_lora = Implements<SupportsLoRA>(model);
  info.supports_pp = Implements<SupportsPP>(model);
  info.has_inner_state = Implements<HasInnerState>(model);
  info.is_attention_free = Implements<IsAttentionFree>(model);
  info.is_hybrid = Implements<IsHybrid>(model);
  info.has_noops = Implements<HasNoOps>(model);
  info.supports_cross_encoding = Implements<SupportsCrossEncoding>(model);
  info.supports_quant = Implements<SupportsQuant>(model);
  info.supports_transcription = Implements<SupportsTranscription>(model);
  info.supports_v0_only = Implements<SupportsV0Only>(model);
  return info;
}

}  // namespace loom
