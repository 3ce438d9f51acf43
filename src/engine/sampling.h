// Turning logits into tokens and log-probabilities.
#pragma once

#include <cstdint>
#include <random>
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
std::vector<TokenLogprob> TopK(std::span<const float> logprobs, int k);

// Greedy when temperature == 0; otherwise samples from softmax(logits / temperature).
int32_t SampleToken(std::span<const float> logits, float temperature, std::mt19937_64& rng);

}  // namespace loom
