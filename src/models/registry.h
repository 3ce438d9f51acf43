// The one explicit table of architectures Loom can run (no static self-registration: linkers
// drop it). Each entry: the HF architecture string, its ModelInfo (derived from the class's
// interfaces) and its factory.
#pragma once

#include <filesystem>
#include <memory>
#include <span>
#include <string_view>

#include "loader/safetensors.h"
#include "models/model.h"
#include "models/weights.h"

namespace loom {

struct ModelEntry {
  std::string_view architecture;
  ModelInfo info;
  Result<std::unique_ptr<Model>> (*create)(const ModelConfig&, const WeightStore&,
                                           const LoadOptions&);
};

std::span<const ModelEntry> ModelRegistry();

// Without loading anything. NotFound lists the supported architectures.
Result<ModelInfo> GetModelInfo(std::string_view architecture);

// config.json -> registry -> weights, from a Hugging Face checkpoint directory or a .gguf file.
// Errors name the file, field or tensor.
Result<std::unique_ptr<Model>> LoadModel(const std::filesystem::path& path,
                                         const LoadOptions& options = {});

}  // namespace loom
