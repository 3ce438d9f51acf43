// Per-request sampling parameters with vLLM's `SamplingParams` names, defaults and checks
// (vllm/sampling_params.py). FromJson reads a request body; Validate applies vLLM's
// `_verify_args` plus the vocabulary checks of `SamplingParams.verify`.
#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>
#include <vector>

#include "core/status.h"
#include "loader/hf_config.h"

namespace loom {

// Temperatures below this are greedy (vLLM `_SAMPLING_EPS`).
inline constexpr double kGreedyTemperatureEps = 1e-5;
// FromJson raises temperatures in (0, kMinRandomTemperature) to it, as vLLM's __post_init__ does,
// because dividing logits by them overflows to inf/nan (vLLM `_MAX_TEMP`).
inline constexpr double kMinRandomTemperature = 1e-2;
// OpenAI's (and vLLM's from_optional) range for logit_bias values; FromJson clamps to it.
inline constexpr float kMaxLogitBias = 100.0f;

struct SamplingParams {
  int n = 1;                   // completions per prompt
  std::optional<int> best_of;  // only best_of == n is supported (vLLM V1 dropped best_of)
  double presence_penalty = 0.0;
  double frequency_penalty = 0.0;
  double repetition_penalty = 1.0;
  double temperature = 1.0;  // < kGreedyTemperatureEps = greedy
  double top_p = 1.0;
  int top_k = 0;  // 0 or -1 = disabled
  double min_p = 0.0;
  std::optional<int64_t> seed;  // unset = a generator from MakeGenerator's process-wide source
  std::vector<std::string> stop;
  std::vector<int32_t> stop_token_ids;
  bool ignore_eos = false;
  std::optional<int> max_tokens = 16;  // unset = until the context is full
  int min_tokens = 0;
  std::optional<int> logprobs;          // top-K per generated token; -1 = whole vocabulary
  std::optional<int> prompt_logprobs;   // top-K per prompt token; -1 = whole vocabulary
  std::map<int32_t, float> logit_bias;  // token id -> bias in [-100, 100]
  std::optional<std::vector<int32_t>> allowed_token_ids;
  std::vector<std::string> bad_words;  // the caller tokenizes them (see SeqSamplingInput)
  bool include_stop_str_in_output = false;
  bool skip_special_tokens = true;
  bool spaces_between_special_tokens = true;

  // Reads the fields above by their vLLM/OpenAI names; other keys are ignored, null means
  // "default". A wrong JSON type is InvalidArgument naming the field. Applies vLLM's
  // __post_init__ normalisation: `stop` may be one string; seed -1 means unset; logprobs /
  // prompt_logprobs `true` mean 1 (`false` means unset); stop_token_ids and bad_words are
  // de-duplicated; logit_bias keys are decimal token ids and values are clamped to [-100, 100];
  // 0 < temperature < 0.01 becomes 0.01. Range checks are Validate's job.
  static Result<SamplingParams> FromJson(const nlohmann::json& j);

  // vLLM's checks, with its messages. Token ids must lie in [0, vocab_size) and logprobs
  // counts may not exceed vocab_size (vLLM's max_logprobs = -1). best_of > n is Unimplemented.
  Status Validate(int64_t vocab_size) const;

  bool IsGreedy() const { return temperature < kGreedyTemperatureEps; }
  bool HasPenalties() const {
    return presence_penalty != 0.0 || frequency_penalty != 0.0 || repetition_penalty != 1.0;
  }
};

// The generation_config.json fields vLLM takes as request defaults (get_diff_sampling_param),
// by their request names: temperature, top_p, top_k, min_p, repetition_penalty, max_tokens.
nlohmann::json SamplingDefaults(const GenerationConfig& gen);

// `request` with `defaults` filling the fields it leaves out (or null). A max_tokens default
// (max_new_tokens) also caps the request's own, as vLLM's get_max_tokens.
nlohmann::json WithSamplingDefaults(const nlohmann::json& defaults, nlohmann::json request);

}  // namespace loom
