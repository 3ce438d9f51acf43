// The logits transforms of vLLM V1's sampler, one row at a time. Each works in place on
// `logits`, f32 [vocab], and removes a token by setting its logit to -inf. The Sampler applies
// them in vLLM's order (see sampler.h); they are separate so tests can check each one.
#pragma once

#include <cstdint>
#include <map>
#include <span>
#include <vector>

namespace loom {

// Buffers reused across rows and steps so the hot path does not allocate per token.
struct LogitsScratch {
  std::vector<float> values;    // f32 [vocab] working copy
  std::vector<double> probs;    // f64 [vocab]
  std::vector<int32_t> ids;     // candidate token ids
  std::vector<int32_t> counts;  // i32 [vocab]; all zero between calls
};

// -inf everywhere except `allowed` (vLLM's allowed_token_ids mask).
void ApplyAllowedTokenIds(std::span<float> logits, std::span<const int32_t> allowed,
                          LogitsScratch& scratch);

// For each bad word (a token-id sequence), bans its last token when the tokens before it equal
// the end of `output`; a one-token bad word is always banned (vllm/v1/sample/ops/bad_words.py).
void ApplyBadWords(std::span<float> logits, std::span<const std::vector<int32_t>> bad_words_ids,
                   std::span<const int32_t> output);

// While fewer than `min_tokens` tokens have been generated, bans the stop tokens and EOS
// (vLLM's MinTokensLogitsProcessor over `all_stop_token_ids`).
void ApplyMinTokens(std::span<float> logits, int min_tokens, size_t num_output_tokens,
                    std::span<const int32_t> stop_token_ids,
                    std::span<const int32_t> eos_token_ids);

// logits[id] += bias.
void ApplyLogitBias(std::span<float> logits, const std::map<int32_t, float>& logit_bias);

// vLLM's apply_penalties: for every token seen in prompt or output, a positive logit is divided
// by `repetition` and a non-positive one multiplied by it; then each output token's logit loses
// frequency * (times generated) + presence (once).
void ApplyPenalties(std::span<float> logits, std::span<const int32_t> prompt,
                    std::span<const int32_t> output, float repetition, float frequency,
                    float presence, LogitsScratch& scratch);

// logits /= temperature (temperature > 0).
void ApplyTemperature(std::span<float> logits, double temperature);

// Bans tokens whose probability is below min_p times the largest probability (0 = off).
void ApplyMinP(std::span<float> logits, double min_p);

// Keeps the tokens whose logit is >= the k-th largest (ties at the boundary all stay, as in
// vLLM); k <= 0 or k >= vocab is a no-op.
void ApplyTopK(std::span<float> logits, int k, LogitsScratch& scratch);

// Nucleus filter as vLLM: with tokens in ascending probability order, bans each token whose
// cumulative probability (itself and everything less likely) is <= 1 - top_p, never the most
// likely one. A 1e-6 tolerance on that mass makes a top_p that equals a mass boundary behave as
// in exact arithmetic (probs [.5, .3, .15, .05], top_p .8 keeps two) instead of depending on
// float rounding. top_p >= 1 is a no-op. Ties: the higher token id is dropped first.
void ApplyTopP(std::span<float> logits, double top_p, LogitsScratch& scratch);

// First index of the largest logit.
int32_t Argmax(std::span<const float> logits);

// Inverse-CDF draw from softmax(logits) with u in [0, 1); -1 when every logit is -inf.
int32_t SampleFromLogits(std::span<const float> logits, double u);

}  // namespace loom
