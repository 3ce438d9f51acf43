#include "engine/sched/scheduler.h"

#include <algorithm>

namespace loom {

Scheduler::Scheduler(const SchedulerConfig& config)
    : config_(config),
      kv_(config.num_blocks, config.block_size,
          config.enable_prefix_caching && config.policy == SchedulingPolicy::kDefault) {}

Status Scheduler::AddRequest(Request request) {
  if (requests_.count(request.id) != 0) return InvalidArgument("request id '{}' is already in use", request.id);
  const int prompt = request.num_prompt_tokens;
  if (prompt == 0 || request.num_tokens() != prompt) return InvalidArgument("request '{}' has an empty prompt", request.id);
  if (prompt >= config_.max_model_len) {
    return InvalidArgument("This model's maximum context length is {} tokens. However, your prompt has {} tokens.",
                           config_.max_model_len, prompt);
  }
  if (request.max_tokens < 1) return InvalidArgument("max_tokens must be at least 1, got {}", request.max_tokens);
  if (prompt + request.max_tokens > config_.max_model_len) {
    return InvalidArgument(
        "This model's maximum context length is {} tokens. However, you requested {} tokens ({} in the "
        "prompt, {} in the completion). Please reduce the length of the prompt or completion.",
        config_.max_model_len, prompt + request.max_tokens, prompt, request.max_tokens);
  }
  if (kv_.BlocksNeeded(prompt + request.max_tokens) > kv_.num_blocks()) {
    return InvalidArgument("request of {} tokens can never fit in the KV cache ({} blocks of {} tokens)",
                           prompt + request.max_tokens, kv_.num_blocks(), kv_.block_size());
  }
  if (config_.policy == SchedulingPolicy::kLegacy && prompt > config_.max_num_batched_tokens) {
    return InvalidArgument("prompt of {} tokens exceeds max_num_batched_tokens {} (the legacy policy runs whole prompts)",
                           prompt, config_.max_num_batched_tokens);
  }
  auto r = std::make_unique<Request>(std::move(request));
  r->status = RequestStatus::kWaiting;
  r->arrival = next_arrival_++;
  waiting_.push_back(r.get());
  requests_[r->id] = std::move(r);
  return Status::Ok();
}

void Scheduler::Preempt(Request* r) {
  running_.erase(std::find(running_.begin(), running_.end(), r));
  kv_.Free(r->id);
  r->status = RequestStatus::kPreempted;
  r->num_computed_tokens = 0;
  ++r->num_preemptions;
  ++num_preemptions_;
  waiting_.push_front(r);
}

void Scheduler::Finish(Request* r, FinishReason reason) {
  if (r->status == RequestStatus::kRunning) {
    running_.erase(std::find(running_.begin(), running_.end(), r));
  } else if (r->status != RequestStatus::kFinished) {
    waiting_.erase(std::find(waiting_.begin(), waiting_.end(), r));
  }
  kv_.Free(r->id);
  r->status = RequestStatus::kFinished;
  r->finish_reason = reason;
}

void Scheduler::Abort(const std::string& id) {
  auto it = requests_.find(id);
  if (it == requests_.end() || it->second->status == RequestStatus::kFinished) return;
  Finish(it->second.get(), FinishReason::kAbort);
}

SchedulerOutput Scheduler::Schedule() {
  SchedulerOutput out;
  int budget = config_.max_num_batched_tokens;
  const bool legacy = config_.policy == SchedulingPolicy::kLegacy;

  // Running requests first; preempt from the tail (newest) when the pool is exhausted.
  for (size_t i = 0; i < running_.size() && budget > 0;) {
    Request* r = running_[i];
    const int num_new = std::min(r->num_tokens() - r->num_computed_tokens, budget);
    bool self_preempted = false;
    while (!kv_.Allocate(r->id, r->num_computed_tokens + num_new)) {
      Request* victim = running_.back();
      Preempt(victim);
      out.preempted.push_back(victim->id);
      if (victim == r) {
        self_preempted = true;
        break;
      }
    }
    if (self_preempted) break;
    out.scheduled.push_back({r->id, r->num_computed_tokens, num_new, r->num_computed_tokens + num_new == r->num_tokens()});
    budget -= num_new;
    ++i;
  }

  // Then waiting ones, unless this step had to preempt (no room to grow).
  while (out.preempted.empty() && !waiting_.empty() && budget > 0 &&
         static_cast<int>(running_.size()) < config_.max_num_seqs) {
    Request* r = waiting_.front();
    KvCacheManager::CachedPrefix prefix;
    if (!r->skip_prefix_cache) prefix = kv_.FindCachedPrefix(r->tokens, r->cache_keys);
    const int remaining = r->num_tokens() - prefix.num_tokens;
    if (legacy && remaining > budget) break;  // whole prompts only
    const int num_new = std::min(remaining, budget);
    if (!kv_.Allocate(r->id, prefix.num_tokens + num_new, &prefix)) break;
    if (kv_.prefix_caching()) kv_.RecordPrefixQuery(r->num_tokens(), prefix.num_tokens);
    waiting_.pop_front();
    r->status = RequestStatus::kRunning;
    r->num_computed_tokens = prefix.num_tokens;
    running_.push_back(r);
    out.scheduled.push_back({r->id, r->num_computed_tokens, num_new, r->num_computed_tokens + num_new == r->num_tokens()});
    budget -= num_new;
  }
  out.total_tokens = config_.max_num_batched_tokens - budget;
  return out;
}

bool Scheduler::CheckStop(Request* r) const {
  const int generated = r->num_output_tokens();
  if (generated >= r->max_tokens || r->num_tokens() >= config_.max_model_len) return true;
  if (generated == 0 || generated < r->min_tokens) return false;
  const int32_t last = r->tokens.back();
  const auto has = [last](const std::vector<int32_t>& v) { return std::find(v.begin(), v.end(), last) != v.end(); };
  return (!r->ignore_eos && has(r->eos_token_ids)) || has(r->stop_token_ids);
}

std::vector<std::string> Scheduler::Update(const SchedulerOutput& out, const std::map<std::string, int32_t>& sampled) {
  std::vector<std::string> finished;
  for (const ScheduledRequest& s : out.scheduled) {
    auto it = requests_.find(s.id);
    if (it == requests_.end() || it->second->status != RequestStatus::kRunning) continue;  // aborted meanwhile
    Request* r = it->second.get();
    r->num_computed_tokens = s.num_computed_tokens + s.num_new_tokens;
    if (s.samples) {
      auto tok = sampled.find(s.id);
      if (tok != sampled.end()) r->tokens.push_back(tok->second);
    }
    kv_.CacheFullBlocks(r->id, r->tokens, r->num_computed_tokens, r->cache_keys);
    if (s.samples && CheckStop(r)) {
      const bool by_length = r->num_output_tokens() >= r->max_tokens || r->num_tokens() >= config_.max_model_len;
      Finish(r, by_length ? FinishReason::kLength : FinishReason::kStop);
      finished.push_back(r->id);
    }
  }
  return finished;
}

const Request* Scheduler::Get(const std::string& id) const {
  auto it = requests_.find(id);
  return it == requests_.end() ? nullptr : it->second.get();
}

std::unique_ptr<Request> Scheduler::TakeFinished(const std::string& id) {
  auto it = requests_.find(id);
  if (it == requests_.end() || it->second->status != RequestStatus::kFinished) return nullptr;
  std::unique_ptr<Request> r = std::move(it->second);
  requests_.erase(it);
  return r;
}

}  // namespace loom
