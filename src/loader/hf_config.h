// Typed views of a Hugging Face checkpoint's config.json and generation_config.json.
// Field names and defaults follow transformers (LlamaConfig, MistralConfig, Qwen2Config, ...).
#pragma once

#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "core/dtype.h"
#include "core/status.h"

namespace loom {

// `rope_scaling` (HF modeling_rope_utils). type is "default", "linear", "dynamic", "llama3" or
// "yarn".
struct RopeScaling {
  std::string type = "default";
  double factor = 1.0;
  // llama3
  double low_freq_factor = 1.0;
  double high_freq_factor = 4.0;
  // llama3, yarn; 0 = use max_position_embeddings
  int64_t original_max_position_embeddings = 0;
  // yarn
  double beta_fast = 32.0;
  double beta_slow = 1.0;
  std::optional<double> attention_factor;
  std::optional<double> mscale;
  std::optional<double> mscale_all_dim;
  bool truncate = true;
  // GGUF files' rope_freqs tensor (llama.cpp's form of Llama 3 scaling): inv_freq[i] is divided
  // by freq_factors[i] after the type's own scaling. Empty: none.
  std::vector<float> freq_factors;
};

// `quantization_config` of a GPTQ or AWQ checkpoint (transformers GPTQConfig / AwqConfig, vLLM
// GPTQConfig / AWQConfig). Linear modules stored as `<prefix>.qweight` (int32, packed), `.qzeros`
// (int32, packed), `.scales` (f16) and, for GPTQ, `.g_idx` (int32); see models/gptq_awq.h.
struct CheckpointQuantization {
  std::string method;        // "gptq" or "awq"
  int bits = 4;              // gptq: 4 or 8; awq: 4
  int64_t group_size = 128;  // input columns per scale / zero; -1 = one group over all of them
  bool desc_act = false;     // gptq act-order: g_idx assigns the groups, not column / group_size
  bool sym = true;           // informational: zeros are stored either way
  // gptq checkpoint_format "gptq" (AutoGPTQ v1) stores zero - 1 in qzeros; "gptq_v2" the zero.
  bool zeros_minus_one = false;
};

struct ModelConfig {
  std::vector<std::string> architectures;
  std::string model_type;
  int64_t vocab_size = 0;
  int64_t hidden_size = 0;
  int64_t intermediate_size = 0;
  int64_t num_hidden_layers = 0;
  int64_t num_attention_heads = 0;
  int64_t num_key_value_heads = 0;  // defaults to num_attention_heads
  int64_t head_dim = 0;             // defaults to hidden_size / num_attention_heads
  int64_t max_position_embeddings = 2048;
  double rms_norm_eps = 1e-6;
  double rope_theta = 10000.0;
  RopeScaling rope_scaling;
  bool tie_word_embeddings = false;
  bool attention_bias = false;
  bool mlp_bias = false;
  int64_t sliding_window = 0;       // 0 = none
  bool use_sliding_window = false;  // Qwen2/Qwen3 gate on sliding_window
  int64_t max_window_layers = 0;    // Qwen2/Qwen3: layers >= this use the window
  std::string hidden_act = "silu";
  std::optional<DType> torch_dtype;
  std::vector<int64_t> eos_token_ids;
  std::optional<int64_t> bos_token_id;
  std::optional<CheckpointQuantization> quantization;  // GPTQ / AWQ checkpoints
  nlohmann::json raw;  // the whole file, for architecture-specific fields
};

struct GenerationConfig {
  std::vector<int64_t> eos_token_ids;
  std::optional<int64_t> bos_token_id;
  std::optional<double> temperature;
  std::optional<double> top_p;
  std::optional<int64_t> top_k;
  std::optional<double> min_p;
  std::optional<int64_t> max_new_tokens;
  std::optional<double> repetition_penalty;
};

// Reads dir/config.json. Errors name the file and the field.
Result<ModelConfig> LoadModelConfig(const std::filesystem::path& dir);
Result<ModelConfig> ParseModelConfig(const nlohmann::json& j, const std::string& file);

// Reads dir/generation_config.json; a missing file gives defaults.
Result<GenerationConfig> LoadGenerationConfig(const std::filesystem::path& dir);

// Reads a whole JSON file; NotFound / DataLoss with the path on failure.
Result<nlohmann::json> ReadJsonFile(const std::filesystem::path& path);

}  // namespace loom
