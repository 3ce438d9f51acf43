#include "engine/sampling/logprobs.h"

#include <algorithm>
#include <numeric>

#include "kernels/kernels.h"

namespace loom {

std::vector<float> LogSoftmax(std::span<const float> logits) {
  std::vector<float> out(logits.size());
  kernels::LogSoftmax(logits.data(), out.data(), 1, static_cast<int64_t>(logits.size()));
  return out;
}

std::vector<TokenLogprob> TopK(std::span<const float> logprobs, int k) {
  std::vector<int32_t> ids(logprobs.size());
  std::iota(ids.begin(), ids.end(), 0);
  k = std::clamp(k, 0, static_cast<int>(ids.size()));
  std::partial_sort(ids.begin(), ids.begin() + k, ids.end(), [&](int32_t a, int32_t b) {
    return logprobs[a] > logprobs[b] || (logprobs[a] == logprobs[b] && a < b);
  });
  std::vector<TokenLogprob> top;
  top.reserve(k);
  for (int i = 0; i < k; ++i) top.push_back({ids[i], logprobs[ids[i]]});
  return top;
}

SampleOutput LogprobsOf(std::span<const float> logprobs, int32_t token, std::optional<int> k) {
  SampleOutput s;
  s.token = token;
  s.logprob = logprobs[token];
  for (float lp : logprobs) s.rank += lp >= s.logprob;
  if (k) s.top = TopK(logprobs, *k < 0 ? static_cast<int>(logprobs.size()) : *k);
  return s;
}

}  // namespace loom
