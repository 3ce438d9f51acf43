#include "engine/sampling/sampler.h"

#include <atomic>
#include <cassert>
#include <limits>

#include "kernels/kernels.h"

namespace loom {
namespace {

// Uniform in [0, 1) from the top 53 bits: unlike std::uniform_real_distribution, the same on
// every standard library, so a seed reproduces across platforms.
double UniformDouble(std::mt19937_64& gen) { return static_cast<double>(gen() >> 11) * 0x1.0p-53; }

uint64_t SplitMix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

struct RowScratch {
  LogitsScratch logits;
  std::vector<float> raw_logprobs;  // f32 [vocab]
};

SampleOutput SampleRow(std::span<float> row, const SeqSamplingInput& seq, RowScratch& scratch) {
  const SamplingParams& p = *seq.params;
  const int64_t vocab = static_cast<int64_t>(row.size());
  std::vector<float>& raw = scratch.raw_logprobs;
  raw.resize(row.size());
  kernels::LogSoftmax(row.data(), raw.data(), 1, vocab);

  // Processors that can change the argmax.
  if (p.allowed_token_ids) ApplyAllowedTokenIds(row, *p.allowed_token_ids, scratch.logits);
  if (seq.bad_words_ids && !seq.bad_words_ids->empty()) {
    ApplyBadWords(row, *seq.bad_words_ids, seq.output);
  }
  ApplyMinTokens(row, p.min_tokens, seq.output.size(), p.stop_token_ids, seq.eos_token_ids);
  if (!p.logit_bias.empty()) ApplyLogitBias(row, p.logit_bias);
  if (p.HasPenalties()) {
    ApplyPenalties(row, seq.prompt, seq.output, static_cast<float>(p.repetition_penalty),
                   static_cast<float>(p.frequency_penalty), static_cast<float>(p.presence_penalty),
                   scratch.logits);
  }

  int32_t token = -1;
  if (p.IsGreedy()) {
    token = Argmax(row);
    if (row[token] == -std::numeric_limits<float>::infinity()) token = -1;
  } else {
    assert(seq.generator != nullptr && "random sampling needs the request's generator");
    ApplyTemperature(row, p.temperature);
    ApplyMinP(row, p.min_p);
    ApplyTopK(row, p.top_k, scratch.logits);
    ApplyTopP(row, p.top_p, scratch.logits);
    token = SampleFromLogits(row, UniformDouble(*seq.generator));
  }
  if (token < 0) token = Argmax(raw);  // every token banned

  return LogprobsOf(raw, token, p.logprobs);
}

}  // namespace

std::vector<SampleOutput> Sample(float* logits, int64_t vocab,
                                 std::span<const SeqSamplingInput> seqs) {
  thread_local RowScratch scratch;
  std::vector<SampleOutput> out;
  out.reserve(seqs.size());
  for (size_t i = 0; i < seqs.size(); ++i) {
    out.push_back(SampleRow(std::span<float>(logits + static_cast<int64_t>(i) * vocab, vocab),
                            seqs[i], scratch));
  }
  return out;
}

std::mt19937_64 MakeGenerator(const SamplingParams& params, int child_index) {
  if (params.seed) {
    return std::mt19937_64(static_cast<uint64_t>(*params.seed) +
                           static_cast<uint64_t>(child_index));
  }
  static const uint64_t base = [] {
    std::random_device rd;
    return (static_cast<uint64_t>(rd()) << 32) ^ rd();
  }();
  static std::atomic<uint64_t> counter{0};
  return std::mt19937_64(SplitMix64(base + counter.fetch_add(1, std::memory_order_relaxed)));
}

}  // namespace loom
