// Log-probabilities of a logits row and its most likely tokens.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <vector>

namespace loom {

struct TokenLogprob {
  int32_t id;
  float logprob;
};

// One position's token with its log-probability, rank and the most likely tokens there: a
// sampled token, or a prompt token (prompt logprobs).
struct SampleOutput {
  int32_t token = -1;
  float logprob = 0;              // raw log-probability of `token`
  int rank = 0;                   // number of tokens whose raw logprob >= token's (1 = top)
  std::vector<TokenLogprob> top;  // raw top-K (K = -1: whole vocabulary; unset: none)
};

// log_softmax(logits) in f32 (logits f32 [vocab]).
std::vector<float> LogSoftmax(std::span<const float> logits);

// The k most likely tokens of a log-probability row, most likely first (ties: lower id first).
// k is clamped to [0, vocab].
std::vector<TokenLogprob> TopK(std::span<const float> logprobs, int k);

// `token`'s entry in a log-probability row [vocab], with the top `k` when k is set.
SampleOutput LogprobsOf(std::span<const float> logprobs, int32_t token, std::optional<int> k);

}  // namespace loom
