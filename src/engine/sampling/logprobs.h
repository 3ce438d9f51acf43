// Log-probabilities of a logits row and its most likely tokens.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace loom {

struct TokenLogprob {
  int32_t id;
  float logprob;
};

// log_softmax(logits) in f32 (logits f32 [vocab]).
std::vector<float> LogSoftmax(std::span<const float> logits);

// The k most likely tokens of a log-probability row, most likely first (ties: lower id first).
// k is clamped to [0, vocab].
std::vector<TokenLogprob> TopK(std::span<const float> logprobs, int k);

}  // namespace loom
