// vLLM V1-style scheduler: no separate prefill/decode phases. Each step fills one token budget
// with running requests first (one decode token each, or the next prefill chunk), then waiting
// ones in arrival order, chunking long prompts; when blocks run out the newest running request is
// preempted (its cache freed; it recomputes later). The output is a plain struct, so the
// scheduler is tested without any model.
#pragma once

#include <deque>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/status.h"
#include "engine/cache/kv_cache_manager.h"
#include "engine/sched/request.h"

namespace loom {

enum class SchedulingPolicy {
  kDefault,  // chunked prefill, prefix caching
  kLegacy,   // whole prompts only, no chunking, no prefix caching (SupportsV0Only models)
};

struct SchedulerConfig {
  int max_num_seqs = 64;
  int max_num_batched_tokens = 2048;
  int max_model_len = 4096;
  int block_size = 16;
  int num_blocks = 1024;
  bool enable_prefix_caching = true;
  SchedulingPolicy policy = SchedulingPolicy::kDefault;
};

struct ScheduledRequest {
  std::string id;
  int num_computed_tokens = 0;  // before this step
  int num_new_tokens = 0;       // tokens to run this step
  bool samples = false;         // this step reaches the end of the known tokens: sample one
};

struct SchedulerOutput {
  std::vector<ScheduledRequest> scheduled;  // running requests first, then newly admitted
  std::vector<std::string> preempted;       // freed this step; will recompute
  int total_tokens = 0;
  bool empty() const { return scheduled.empty(); }
};

class Scheduler {
 public:
  explicit Scheduler(const SchedulerConfig& config);

  // Rejects requests that can never run (too long for the model or the whole cache).
  Status AddRequest(Request request);
  // Finishes `id` with reason abort and frees what it holds, now.
  void Abort(const std::string& id);

  SchedulerOutput Schedule();
  // Applies a step's results: advances computed tokens, appends sampled tokens (id -> token for
  // the requests whose `samples` was true), finishes requests that hit a stop condition and
  // frees them. Returns the ids finished in this update.
  std::vector<std::string> Update(const SchedulerOutput& out, const std::map<std::string, int32_t>& sampled);

  const Request* Get(const std::string& id) const;
  const std::vector<int>& BlockTable(const std::string& id) const { return kv_.BlockTable(id); }
  bool HasUnfinished() const { return !waiting_.empty() || !running_.empty(); }
  int num_waiting() const { return static_cast<int>(waiting_.size()); }
  int num_running() const { return static_cast<int>(running_.size()); }
  const KvCacheManager& kv() const { return kv_; }
  int64_t num_preemptions() const { return num_preemptions_; }
  // Finished requests are kept until taken.
  std::unique_ptr<Request> TakeFinished(const std::string& id);

 private:
  void Preempt(Request* r);
  void Finish(Request* r, FinishReason reason);
  bool CheckStop(Request* r) const;

  SchedulerConfig config_;
  KvCacheManager kv_;
  std::map<std::string, std::unique_ptr<Request>> requests_;
  std::deque<Request*> waiting_;
  std::vector<Request*> running_;  // admission order
  uint64_t next_arrival_ = 0;
  int64_t num_preemptions_ = 0;
};

}  // namespace loom
