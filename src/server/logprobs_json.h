// Log-probabilities in the shapes OpenAI and vLLM answer with: chat `logprobs.content`,
// completions `logprobs` {tokens, token_logprobs, top_logprobs, text_offset} (with echo, the
// prompt first), and vLLM's `prompt_logprobs`.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "engine/sampling/logprobs.h"
#include "tokenizer/tokenizer.h"

namespace loom::server {

class LogprobsJson {
 public:
  explicit LogprobsJson(const std::optional<Tokenizer>& tokenizer) : tokenizer_(tokenizer) {}

  // The token decoded alone (vLLM's decoded_token) with invalid UTF-8 replaced by U+FFFD, or
  // "token_id:N" without a tokenizer. text_offset counts its code points, as Python's len().
  std::string Token(int32_t id) const;

  // Chat: one {"token", "logprob", "bytes", "top_logprobs": [{"token", "logprob", "bytes"}]}
  // per generated token.
  nlohmann::json ChatContent(std::span<const SampleOutput> samples) const;

  // Completions: an empty {tokens, token_logprobs, top_logprobs, text_offset} object.
  static nlohmann::json EmptyCompletion();
  // Appends generated (or prompt) tokens: top_logprobs maps token strings to logprobs of the
  // top-K plus the token itself, as vLLM; text_offset counts characters from *offset.
  void AppendCompletion(std::span<const SampleOutput> samples, nlohmann::json* logprobs,
                        size_t* offset) const;
  // Appends an echoed prompt: its first token has no logprob (null), the rest come from the
  // engine's prompt logprobs (entries for prompt tokens 1..).
  void AppendCompletionPrompt(std::span<const int32_t> prompt,
                              std::span<const SampleOutput> prompt_logprobs,
                              nlohmann::json* logprobs, size_t* offset) const;

  // vLLM's prompt_logprobs: [null, {"<id>": {"logprob", "rank", "decoded_token"}}, ...], one per
  // prompt token; each position has the prompt token and the top-K.
  nlohmann::json PromptLogprobs(std::span<const SampleOutput> prompt_logprobs) const;

 private:
  const std::optional<Tokenizer>& tokenizer_;
};

}  // namespace loom::server
