// A GGUF file seen as a Hugging Face checkpoint: the config.json its metadata implies, and its
// tensors under Hugging Face names (zero-copy views of the mapping; the Q/K projections of
// llama-architecture files are un-permuted back to the rotate-half RoPE layout, see .cc).
#pragma once

#include <filesystem>

#include "loader/gguf.h"
#include "loader/hf_config.h"
#include "loader/safetensors.h"

namespace loom {

struct GgufCheckpoint {
  GgufFile file;
  ModelConfig config;
  WeightStore weights;
};

// Architectures: llama (also Mistral's files), qwen2, qwen3. Errors name the file and the key.
Result<GgufCheckpoint> LoadGgufCheckpoint(const std::filesystem::path& path);

// The config.json (Hugging Face names) that a GGUF file's metadata describes.
Result<nlohmann::json> HfConfigFromGguf(const GgufFile& file);

bool IsGgufPath(const std::filesystem::path& path);  // a regular file named *.gguf

}  // namespace loom
