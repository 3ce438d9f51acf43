#include "models/registry.h"

#include <fmt/format.h>

#include <vector>

#include "loader/gguf_checkpoint.h"
#include "models/llama.h"

namespace loom {
namespace {

template <typename M>
ModelEntry Entry(std::string_view arch, RunnerType runner, AttentionType attention) {
  return {arch, MakeModelInfo<M>(std::string(arch), runner, attention), &M::Create};
}

const std::vector<ModelEntry>& Table() {
  static const std::vector<ModelEntry> table = {
      Entry<LlamaForCausalLM>("LlamaForCausalLM", RunnerType::kGenerate, AttentionType::kDecoder),
      Entry<LlamaForCausalLM>("MistralForCausalLM", RunnerType::kGenerate, AttentionType::kDecoder),
      Entry<LlamaForCausalLM>("Qwen2ForCausalLM", RunnerType::kGenerate, AttentionType::kDecoder),
      Entry<LlamaForCausalLM>("Qwen3ForCausalLM", RunnerType::kGenerate, AttentionType::kDecoder),
  };
  return table;
}

const ModelEntry* Find(std::string_view arch) {
  for (const ModelEntry& e : Table()) {
    if (e.architecture == arch) return &e;
  }
  return nullptr;
}

std::string SupportedList() {
  std::vector<std::string_view> names;
  for (const ModelEntry& e : Table()) names.push_back(e.architecture);
  return fmt::format("{}", fmt::join(names, ", "));
}

}  // namespace

std::span<const ModelEntry> ModelRegistry() { return Table(); }

Result<ModelInfo> GetModelInfo(std::string_view architecture) {
  const ModelEntry* e = Find(architecture);
  if (e == nullptr) {
    return NotFound("architecture '{}' is not supported (supported: {})", architecture,
                    SupportedList());
  }
  return e->info;
}

Result<std::unique_ptr<Model>> LoadModel(const std::filesystem::path& dir,
                                         const LoadOptions& options) {
  if (IsGgufPath(dir)) {
    LOOM_ASSIGN_OR_RETURN(GgufCheckpoint gguf, LoadGgufCheckpoint(dir));
    return Find(gguf.config.architectures[0])->create(gguf.config, gguf.weights, options);
  }
  LOOM_ASSIGN_OR_RETURN(ModelConfig config, LoadModelConfig(dir));
  const ModelEntry* e = Find(config.architectures[0]);
  if (e == nullptr) {
    return NotFound("{}: architecture '{}' is not supported (supported: {})",
                    (dir / "config.json").string(), config.architectures[0], SupportedList());
  }
  LOOM_ASSIGN_OR_RETURN(WeightStore weights, WeightStore::OpenDir(dir));
  return e->create(config, weights, options);
}

}  // namespace loom
