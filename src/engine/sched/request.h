// A request as the scheduler sees it: tokens known so far and how many of them have been run.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace loom {

enum class RequestStatus { kWaiting, kRunning, kPreempted, kFinished };
enum class FinishReason { kNone, kStop, kLength, kAbort };

struct Request {
  std::string id;
  std::vector<int32_t> tokens;  // prompt followed by generated tokens: what the cache holds
  int num_prompt_tokens = 0;
  int max_tokens = 16;
  int min_tokens = 0;
  bool ignore_eos = false;
  std::vector<int32_t> eos_token_ids;   // stop unless ignore_eos
  std::vector<int32_t> stop_token_ids;  // stop always
  std::vector<uint64_t> cache_keys;     // extra prefix-cache keys (LoRA id, multimodal hashes)
  int priority = 0;
  bool skip_prefix_cache = false;       // e.g. prompt logprobs need every position computed                     // lower runs first under the priority policy

  // Set by the scheduler.
  RequestStatus status = RequestStatus::kWaiting;
  FinishReason finish_reason = FinishReason::kNone;
  int num_computed_tokens = 0;
  int num_preemptions = 0;
  uint64_t arrival = 0;

  static Request Make(std::string id, std::vector<int32_t> prompt) {
    Request r;
    r.id = std::move(id);
    r.num_prompt_tokens = static_cast<int>(prompt.size());
    r.tokens = std::move(prompt);
    return r;
  }
  int num_tokens() const { return static_cast<int>(tokens.size()); }
  int num_output_tokens() const { return num_tokens() - num_prompt_tokens; }
  std::span<const int32_t> output() const {
    return std::span<const int32_t>(tokens).subspan(num_prompt_tokens);
  }
};

}  // namespace loom
