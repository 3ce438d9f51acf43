// Runs one OpenAI request's prompts through the AsyncEngine: n choices per prompt, each a
// stream; collects or forwards deltas. Shared by /v1/completions and /v1/chat/completions.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "engine/async_engine.h"
#include "server/api_error.h"
#include "server/http.h"

namespace loom::server {

struct Choice {
  int index = 0;
  std::vector<int32_t> token_ids;
  std::vector<SampleOutput> samples;
  std::vector<SampleOutput> prompt_logprobs;  // when requested: prompt tokens 1..
  std::string text;
  FinishReason finish_reason = FinishReason::kNone;
  std::string error;
};

// Starts params.n streams for each prompt (choice index = prompt * n + k; a seeded request
// gives sample k the seed + k, as vLLM). Fails before anything runs if any request is invalid.
Result<std::vector<std::shared_ptr<RequestStream>>> StartChoices(
    AsyncEngine& engine, const std::vector<std::vector<int32_t>>& prompts,
    const SamplingParams& params);

// Reads every stream to the end (non-streaming responses).
std::vector<Choice> Collect(const std::vector<std::shared_ptr<RequestStream>>& streams);

// Forwards deltas of all streams, in arrival order per stream and round-robin across them, to
// `emit(choice index, delta)`; when emit returns false (client gone) every unfinished stream is
// aborted and Forward returns false.
bool Forward(AsyncEngine& engine, const std::vector<std::shared_ptr<RequestStream>>& streams,
             const std::function<bool(int, const StreamDelta&)>& emit);

// Streams every delta as a chunk: `head` plus {"choices": [choice(index, delta)]}; then, with
// include_usage, OpenAI's final chunk with no choices and the usage. False once the client is
// gone (Forward has aborted the rest).
bool ForwardChunks(AsyncEngine& engine, const std::vector<std::shared_ptr<RequestStream>>& streams,
                   const nlohmann::json& head, size_t prompt_tokens, bool include_usage,
                   const SendEvent& send,
                   const std::function<nlohmann::json(int, const StreamDelta&)>& choice);

}  // namespace loom::server
