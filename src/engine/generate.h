// Single-sequence generation: prefill the prompt, then decode token by token. The batched,
// scheduled engine (issue: continuous batching) builds on the same Model::Forward.
#pragma once

#include <cstdint>
#include <vector>

#include "core/status.h"
#include "engine/sampling.h"
#include "models/model.h"

namespace loom {

struct GenerateRequest {
  std::vector<int32_t> prompt_ids;
  int max_tokens = 16;
  float temperature = 0.0f;
  uint64_t seed = 0;
  int logprobs = 0;                     // top-K per generated token; 0 = none
  int prompt_logprobs = -1;             // top-K per prompt position after the first; < 0 = none
  std::vector<int32_t> stop_token_ids;  // generation ends after emitting one of these
};

struct GenerateResult {
  std::vector<int32_t> token_ids;
  std::vector<std::vector<TokenLogprob>> logprobs;         // [generated][K]
  std::vector<std::vector<TokenLogprob>> prompt_logprobs;  // [prompt_len - 1][K]
  std::vector<float> token_logprobs;                       // logprob of each generated token
  std::string finish_reason;                               // "length" or "stop"
};

// Full log-softmax rows of every prompt position: f32 [prompt_len, vocab], row t predicting
// token t + 1. Used by tests and by prompt_logprobs.
Result<Tensor> PromptLogprobs(Model& model, const std::vector<int32_t>& prompt_ids);

Result<GenerateResult> Generate(Model& model, const GenerateRequest& request);

}  // namespace loom
