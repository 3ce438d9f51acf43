// Engine flags shared by the commands that run an engine (generate, bench, serve), named as vLLM.
#pragma once

#include <CLI/CLI.hpp>
#include <filesystem>
#include <string>

#include "engine/engine_core.h"

namespace loom::cli {

inline void AddEngineFlags(CLI::App* cmd, EngineConfig& c, std::string& policy,
                           bool& no_prefix_caching) {
  cmd->add_option("--max-num-seqs", c.max_num_seqs, "Most sequences in one step")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--max-num-batched-tokens", c.max_num_batched_tokens, "Token budget of one step")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--kv-cache-memory", c.kv_cache_memory,
                  "KV cache bytes (default: a quarter of free RAM)")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--kv-cache-dtype", c.kv_cache_dtype,
                  "auto (the weights' dtype), f32, bf16 or f16");
  cmd->add_option("--block-size", c.block_size, "Tokens per KV block")->check(CLI::PositiveNumber);
  cmd->add_option("--max-model-len", c.max_model_len, "Context length (default: from config.json)")
      ->check(CLI::PositiveNumber);
  cmd->add_flag("--no-enable-prefix-caching,!--enable-prefix-caching", no_prefix_caching,
                "Prefix caching (on by default; --no-enable-prefix-caching disables it)");
  cmd->add_option(
      "--quantization,-q", c.quantization,
      "Quantize Linear weights at load: q8_0, q4_0 or q4_k (GGUF files keep their own types)");
  cmd->add_option(
      "--dtype", c.dtype,
      "What matmuls multiply the weights by: auto (activations rounded to bf16 for "
      "bf16 weights and to 8 bits for q8_0/q4_0/q6_k, as llama.cpp; on CPUs with AVX-512 "
      "BF16 and VNNI) or float32 (exact f32 activations, slower)");
  cmd->add_option("--scheduling-policy", policy,
                  "default, or legacy (whole prompts, no prefix caching)")
      ->check(CLI::IsMember({"default", "legacy"}));
}

inline void FinishEngineFlags(EngineConfig& c, const std::string& policy, bool no_prefix_caching) {
  c.enable_prefix_caching = !no_prefix_caching;
  c.policy = policy == "legacy" ? SchedulingPolicy::kLegacy : SchedulingPolicy::kDefault;
}

// vLLM's --generation-config: where request defaults (temperature, top_p, ...) come from.
inline void AddGenerationConfigFlag(CLI::App* cmd, std::string& flag) {
  cmd->add_option(
      "--generation-config", flag,
      "Sampling defaults: auto (the model's generation_config.json), vllm (none), or a folder "
      "holding a generation_config.json");
}

inline Result<GenerationConfig> LoadGenerationConfigFlag(const std::string& flag,
                                                         const std::filesystem::path& model) {
  if (flag == "vllm") return GenerationConfig{};
  if (flag == "auto") return LoadGenerationConfig(model);
  if (!std::filesystem::is_regular_file(std::filesystem::path(flag) / "generation_config.json")) {
    return InvalidArgument("--generation-config {}: no generation_config.json in that folder",
                           flag);
  }
  return LoadGenerationConfig(flag);
}

}  // namespace loom::cli
