#include "engine/sampling/logits_processors.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace loom {
namespace {

constexpr float kNegInf = -std::numeric_limits<float>::infinity();

// Token ids reaching the sampler were validated against the vocabulary; the bounds checks here
// only keep a caller's mistake from writing out of the row.
bool InVocab(int32_t id, size_t vocab) { return id >= 0 && static_cast<size_t>(id) < vocab; }

float MaxLogit(std::span<const float> logits) {
  float m = kNegInf;
  for (float x : logits) m = std::max(m, x);
  return m;
}

}  // namespace

void ApplyAllowedTokenIds(std::span<float> logits, std::span<const int32_t> allowed,
                          LogitsScratch& scratch) {
  std::vector<float>& kept = scratch.values;
  kept.resize(allowed.size());
  for (size_t i = 0; i < allowed.size(); ++i) {
    kept[i] = InVocab(allowed[i], logits.size()) ? logits[allowed[i]] : kNegInf;
  }
  std::fill(logits.begin(), logits.end(), kNegInf);
  for (size_t i = 0; i < allowed.size(); ++i) {
    if (InVocab(allowed[i], logits.size())) logits[allowed[i]] = kept[i];
  }
}

void ApplyBadWords(std::span<float> logits, std::span<const std::vector<int32_t>> bad_words_ids,
                   std::span<const int32_t> output) {
  for (const std::vector<int32_t>& word : bad_words_ids) {
    if (word.empty() || word.size() > output.size() + 1) continue;
    const size_t prefix = word.size() - 1;
    if (std::equal(word.begin(), word.begin() + prefix, output.end() - prefix) &&
        InVocab(word.back(), logits.size())) {
      logits[word.back()] = kNegInf;
    }
  }
}

void ApplyMinTokens(std::span<float> logits, int min_tokens, size_t num_output_tokens,
                    std::span<const int32_t> stop_token_ids,
                    std::span<const int32_t> eos_token_ids) {
  if (min_tokens <= 0 || num_output_tokens >= static_cast<size_t>(min_tokens)) return;
  for (int32_t id : stop_token_ids) {
    if (InVocab(id, logits.size())) logits[id] = kNegInf;
  }
  for (int32_t id : eos_token_ids) {
    if (InVocab(id, logits.size())) logits[id] = kNegInf;
  }
}

void ApplyLogitBias(std::span<float> logits, const std::map<int32_t, float>& logit_bias) {
  for (const auto& [id, bias] : logit_bias) {
    if (InVocab(id, logits.size())) logits[id] += bias;
  }
}

void ApplyPenalties(std::span<float> logits, std::span<const int32_t> prompt,
                    std::span<const int32_t> output, float repetition, float frequency,
                    float presence, LogitsScratch& scratch) {
  std::vector<int32_t>& counts = scratch.counts;
  if (counts.size() < logits.size()) counts.assign(logits.size(), 0);
  const size_t vocab = logits.size();

  // Repetition: once per distinct token of prompt + output; counts[] marks "already done".
  if (repetition != 1.0f) {
    auto penalize = [&](std::span<const int32_t> tokens) {
      for (int32_t t : tokens) {
        if (!InVocab(t, vocab) || counts[t]) continue;
        counts[t] = 1;
        logits[t] = logits[t] > 0 ? logits[t] / repetition : logits[t] * repetition;
      }
    };
    penalize(prompt);
    penalize(output);
    for (int32_t t : prompt) {
      if (InVocab(t, vocab)) counts[t] = 0;
    }
    for (int32_t t : output) {
      if (InVocab(t, vocab)) counts[t] = 0;
    }
  }

  // Frequency and presence (OpenAI's definition) over the generated tokens only.
  if (frequency != 0.0f || presence != 0.0f) {
    for (int32_t t : output) {
      if (InVocab(t, vocab)) ++counts[t];
    }
    for (int32_t t : output) {
      if (!InVocab(t, vocab) || counts[t] == 0) continue;
      logits[t] -= frequency * static_cast<float>(counts[t]);
      logits[t] -= presence;
      counts[t] = 0;
    }
  }
}

void ApplyTemperature(std::span<float> logits, double temperature) {
  const float t = static_cast<float>(temperature);
  for (float& x : logits) x /= t;
}

void ApplyMinP(std::span<float> logits, double min_p) {
  if (min_p <= 0.0) return;
  // p_i < min_p * p_max  <=>  x_i - x_max < log(min_p): no softmax needed.
  const float max = MaxLogit(logits);
  if (max == kNegInf) return;
  const double threshold = static_cast<double>(max) + std::log(min_p);
  for (float& x : logits) {
    if (static_cast<double>(x) < threshold) x = kNegInf;
  }
}

void ApplyTopK(std::span<float> logits, int k, LogitsScratch& scratch) {
  if (k <= 0 || static_cast<size_t>(k) >= logits.size()) return;
  std::vector<float>& v = scratch.values;
  v.assign(logits.begin(), logits.end());
  std::nth_element(v.begin(), v.begin() + (k - 1), v.end(), std::greater<float>());
  const float kth = v[k - 1];
  for (float& x : logits) {
    if (x < kth) x = kNegInf;
  }
}

void ApplyTopP(std::span<float> logits, double top_p, LogitsScratch& scratch) {
  constexpr double kMassTolerance = 1e-6;
  if (top_p >= 1.0) return;
  const float max = MaxLogit(logits);
  if (max == kNegInf) return;

  std::vector<double>& p = scratch.probs;
  p.resize(logits.size());
  double total = 0;
  size_t num_finite = 0;
  for (size_t i = 0; i < logits.size(); ++i) {
    p[i] = std::exp(static_cast<double>(logits[i]) - max);  // exp(-inf) = 0
    total += p[i];
    num_finite += logits[i] != kNegInf;
  }
  const double drop_mass = 1.0 - top_p + kMassTolerance;
  // A token with p_i <= (1 - top_p) / n is banned whatever the order (at most n such tokens sum
  // to <= 1 - top_p), so only the others need sorting. The most likely token is always one.
  const double cut = (1.0 - top_p) / static_cast<double>(num_finite) * total;
  std::vector<int32_t>& cand = scratch.ids;
  cand.clear();
  double tail = 0;  // normalized mass of the banned tokens so far
  for (size_t i = 0; i < logits.size(); ++i) {
    if (p[i] > cut) {
      cand.push_back(static_cast<int32_t>(i));
    } else {
      tail += p[i] / total;
      logits[i] = kNegInf;
    }
  }
  // Ascending probability; among equals the higher id first, so it is dropped first.
  std::sort(cand.begin(), cand.end(),
            [&](int32_t a, int32_t b) { return p[a] < p[b] || (p[a] == p[b] && a > b); });
  for (size_t j = 0; j + 1 < cand.size(); ++j) {
    tail += p[cand[j]] / total;
    if (tail > drop_mass) break;
    logits[cand[j]] = kNegInf;
  }
}

int32_t Argmax(std::span<const float> logits) {
  return static_cast<int32_t>(std::max_element(logits.begin(), logits.end()) - logits.begin());
}

int32_t SampleFromLogits(std::span<const float> logits, double u) {
  const float max = MaxLogit(logits);
  if (max == kNegInf) return -1;
  double total = 0;
  for (float x : logits) total += std::exp(static_cast<double>(x) - max);
  const double target = u * total;
  double cum = 0;
  int32_t last = -1;
  for (size_t i = 0; i < logits.size(); ++i) {
    if (logits[i] == kNegInf) continue;
    cum += std::exp(static_cast<double>(logits[i]) - max);
    last = static_cast<int32_t>(i);
    if (cum > target) return last;
  }
  return last;  // rounding left target >= cum: the last possible token
}

}  // namespace loom
