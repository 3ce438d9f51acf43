// The engine core loop (vLLM's EngineCore): scheduler -> runner (one flat batch for every
// scheduled request) -> sampler -> per-request outputs. Single-threaded; callers drive Step().
#pragma once

#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "core/status.h"
#include "engine/sampling/sampler.h"
#include "engine/sampling/sampling_params.h"
#include "engine/sched/scheduler.h"
#include "models/model.h"

namespace loom {

struct EngineConfig {
  int max_num_seqs = 64;
  int max_num_batched_tokens = 2048;
  int block_size = 16;
  int64_t kv_cache_memory = 0;          // bytes; 0 = a quarter of the memory available now
  std::string kv_cache_dtype = "auto";  // auto (the weights' dtype) | f32 | bf16
  int max_model_len = 0;                // 0 = from the model config
  bool enable_prefix_caching = true;
  std::string quantization;    // "" | q8_0 | q4_0 | q4_k: Linear weights quantized at load
  std::string dtype = "auto";  // auto | float32: LoadOptions::activations
  SchedulingPolicy policy = SchedulingPolicy::kDefault;
};

struct EngineRequest {
  std::string id;
  std::vector<int32_t> prompt_ids;
  SamplingParams params;
  std::vector<int32_t> eos_token_ids;               // from the checkpoint, unless ignore_eos
  std::vector<std::vector<int32_t>> bad_words_ids;  // tokenized bad_words
};

// What one step produced for one request.
struct RequestOutput {
  std::string id;
  std::vector<int32_t> new_token_ids;
  std::vector<SampleOutput> new_samples;      // logprob, rank and top-K of each new token
  std::vector<SampleOutput> prompt_logprobs;  // prompt tokens 1.., set once, with the first token
  bool finished = false;
  FinishReason finish_reason = FinishReason::kNone;
};

struct EngineStats {
  int64_t prefix_query_tokens = 0;
  int64_t prefix_hit_tokens = 0;
  int64_t preemptions = 0;
  int64_t free_blocks = 0;  // KV blocks not held by any request (cached ones included)
  int64_t total_blocks = 0;
  int64_t num_running = 0;
  int64_t num_waiting = 0;
  int64_t steps = 0;
  int64_t prompt_tokens = 0;  // computed (not cached) prompt tokens
  int64_t generated_tokens = 0;
};

class EngineCore {
 public:
  static Result<std::unique_ptr<EngineCore>> Create(std::unique_ptr<Model> model,
                                                    const EngineConfig& config);

  // Validates and queues; errors are the request's fault (bad params, too long).
  Status AddRequest(EngineRequest request);
  void Abort(const std::string& id);
  // One scheduler step; outputs of every request that produced something (or finished).
  Result<std::vector<RequestOutput>> Step();
  bool HasUnfinished() const { return scheduler_->HasUnfinished(); }

  const Model& model() const { return *model_; }
  const EngineConfig& config() const { return config_; }
  int64_t num_blocks() const { return cache_.num_blocks; }
  int max_model_len() const { return max_model_len_; }
  EngineStats stats() const;

 private:
  struct State {
    EngineRequest req;
    std::mt19937_64 generator;
    std::vector<SampleOutput> prompt_logprobs;
    bool prompt_logprobs_sent = false;
  };
  EngineCore(std::unique_ptr<Model> model, const EngineConfig& config)
      : model_(std::move(model)), config_(config) {}

  std::unique_ptr<Model> model_;
  EngineConfig config_;
  int max_model_len_ = 0;
  PagedKvCache cache_;
  std::unique_ptr<Scheduler> scheduler_;
  std::map<std::string, State> states_;
  EngineStats stats_;
};

}  // namespace loom
