// Batched next-token sampling with vLLM V1 semantics (vllm/v1/sample/sampler.py).
//
// Per row, in vLLM's order:
//   1. raw log-probabilities = log_softmax(logits) before anything below (vLLM's default
//      logprobs_mode "raw_logprobs"); the returned logprob, rank and top-K come from these;
//   2. allowed_token_ids mask, bad words, min_tokens (stop tokens + EOS banned), logit_bias;
//   3. penalties: repetition (prompt + output), frequency and presence (output);
//   4. greedy (temperature < 1e-5): argmax, no random draw. Otherwise temperature, min_p,
//      top_k, top_p, and one draw from the request's own generator.
// A row whose constraints ban every token falls back to the unconstrained argmax rather than
// inventing an id.
#pragma once

#include <cstdint>
#include <random>
#include <span>
#include <vector>

#include "engine/sampling/logits_processors.h"
#include "engine/sampling/logprobs.h"
#include "engine/sampling/sampling_params.h"

namespace loom {

// One sequence's row of a batch. Spans and pointers must outlive the Sample call.
struct SeqSamplingInput {
  const SamplingParams* params = nullptr;
  std::span<const int32_t> prompt;  // for the repetition penalty
  std::span<const int32_t> output;  // generated so far (penalties, bad words, min_tokens)
  // EOS ids banned, with params->stop_token_ids, until min_tokens tokens exist. (vLLM bans EOS
  // there even under ignore_eos, since its all_stop_token_ids always holds EOS; the caller
  // decides by what it passes.)
  std::vector<int32_t> eos_token_ids;
  // params->bad_words as token-id sequences, or null. The caller tokenizes them (vLLM encodes
  // each word with and without a leading space, see SamplingParams.update_from_tokenizer).
  const std::vector<std::vector<int32_t>>* bad_words_ids = nullptr;
  // The request's generator (MakeGenerator). A random row draws exactly one value per step from
  // it and nothing else touches it, so a seeded request samples the same tokens whatever else is
  // in the batch. May be null for greedy rows, which draw nothing.
  std::mt19937_64* generator = nullptr;
};

// logits: f32 [seqs.size(), vocab], one row per sequence, modified in place. Scratch buffers are
// thread_local, so steady-state steps do not allocate [vocab]-sized memory.
std::vector<SampleOutput> Sample(float* logits, int64_t vocab,
                                 std::span<const SeqSamplingInput> seqs);

// The generator of completion `child_index` (0..n-1) of a request. With a seed: seeded with
// seed + child_index, as vLLM's ParentRequest does for n > 1. Without: seeded from a process-wide
// source (std::random_device once, then a splitmix64 counter), so unseeded requests differ from
// each other and from run to run. Seed once per request, not per step.
std::mt19937_64 MakeGenerator(const SamplingParams& params, int child_index = 0);

}  // namespace loom
