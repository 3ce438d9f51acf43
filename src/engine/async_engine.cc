#include "engine/async_engine.h"

#include <fmt/format.h>

namespace loom {

std::optional<StreamDelta> RequestStream::Next() {
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait(lock, [&] { return !queue_.empty() || drained_; });
  if (queue_.empty()) return std::nullopt;
  StreamDelta d = std::move(queue_.front());
  queue_.pop_front();
  if (d.finished) drained_ = true;
  return d;
}

void RequestStream::Push(StreamDelta d) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (closed_) return;
    closed_ = d.finished;
    queue_.push_back(std::move(d));
  }
  cv_.notify_all();
}

AsyncEngine::AsyncEngine(std::unique_ptr<LLM> llm, int max_queued_requests)
    : llm_(std::move(llm)),
      detok_(llm_->tokenizer()),
      max_queued_requests_(max_queued_requests),
      thread_([this] { Loop(); }) {}

AsyncEngine::~AsyncEngine() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  thread_.join();
  // Whatever is left ends as aborted; adds that never reached the engine are refused.
  for (auto& [id, live] : live_) {
    StreamDelta d;
    d.finished = true;
    d.finish_reason = FinishReason::kAbort;
    live.stream->Push(std::move(d));
  }
  for (auto& add : adds_) add->verdict.set_value(Unavailable("the server is shutting down"));
}

Result<std::shared_ptr<RequestStream>> AsyncEngine::Add(std::vector<int32_t> prompt_ids,
                                                        SamplingParams params) {
  if (params.n != 1) return InvalidArgument("the streaming API takes n = 1; got n = {}", params.n);
  auto add = std::make_unique<PendingAdd>();
  add->arrival = Clock::now();
  add->request.prompt_ids = std::move(prompt_ids);
  add->request.params = std::move(params);
  add->request.eos_token_ids = llm_->eos_token_ids();
  LOOM_ASSIGN_OR_RETURN(add->request.bad_words_ids, llm_->BadWordsIds(add->request.params));
  std::future<Status> verdict = add->verdict.get_future();
  std::shared_ptr<RequestStream> stream;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stop_) return Unavailable("the server is shutting down");
    const int64_t queued = stats_.num_waiting + static_cast<int64_t>(adds_.size());
    if (max_queued_requests_ > 0 && queued >= max_queued_requests_) {
      return Unavailable(
          "the server is overloaded: {} requests are waiting (--max-queued-requests {}); retry "
          "later",
          queued, max_queued_requests_);
    }
    add->request.id = fmt::format("req-{}", next_id_++);
    add->stream = stream = std::make_shared<RequestStream>(add->request.id);
    adds_.push_back(std::move(add));
  }
  cv_.notify_all();
  LOOM_RETURN_IF_ERROR(verdict.get());
  return stream;
}

void AsyncEngine::Abort(const std::string& id) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    aborts_.push_back(id);
  }
  cv_.notify_all();
}

void AsyncEngine::AbortAll() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    abort_all_ = true;
  }
  cv_.notify_all();
}

bool AsyncEngine::Idle() {
  std::lock_guard<std::mutex> lock(mu_);
  return adds_.empty() && num_live_ == 0;
}

EngineStats AsyncEngine::stats() {
  std::lock_guard<std::mutex> lock(mu_);
  return stats_;
}

ServingMetrics AsyncEngine::metrics() {
  std::lock_guard<std::mutex> lock(mu_);
  return metrics_;
}

void AsyncEngine::ApplyAdd(PendingAdd& add) {
  Status s = llm_->engine().AddRequest(add.request);
  if (s.ok()) {
    detok_.Add(add.request.id, add.request.params, add.request.prompt_ids);
    live_[add.request.id] = Live{add.stream, add.arrival, std::nullopt};
    // The queue limit reads the waiting count: it includes this request before Add returns.
    std::lock_guard<std::mutex> lock(mu_);
    stats_ = llm_->engine().stats();
    num_live_ = live_.size();
  }
  add.verdict.set_value(std::move(s));
}

void AsyncEngine::ApplyAbort(const std::string& id) {
  auto it = live_.find(id);
  if (it == live_.end()) return;  // already finished
  llm_->engine().Abort(id);
  detok_.Remove(id);
  StreamDelta d;
  d.finished = true;
  d.finish_reason = FinishReason::kAbort;
  const Live live = std::move(it->second);
  live_.erase(it);
  Finish(live, std::move(d));
}

void AsyncEngine::Finish(const Live& live, StreamDelta d) {
  {
    // What the request held is free already: a client seeing its end sees the blocks back.
    std::lock_guard<std::mutex> lock(mu_);
    stats_ = llm_->engine().stats();
    num_live_ = live_.size();
    ++metrics_.requests_finished[std::string(FinishReasonName(d.finish_reason))];
    if (d.finish_reason != FinishReason::kAbort) {
      metrics_.e2e_request_latency.Observe(
          std::chrono::duration<double>(Clock::now() - live.arrival).count());
    }
  }
  live.stream->Push(std::move(d));
}

void AsyncEngine::RunStep() {
  EngineCore& engine = llm_->engine();
  Result<std::vector<RequestOutput>> step = engine.Step();
  if (!step.ok()) {  // an engine fault: fail every request rather than hang them
    for (auto& [id, live] : live_) {
      engine.Abort(id);
      detok_.Remove(id);
      StreamDelta d;
      d.finished = true;
      d.finish_reason = FinishReason::kAbort;
      d.error = step.status().message();
      Finish(live, std::move(d));
    }
    live_.clear();
    return;
  }
  {
    // Before any client sees this step's tokens, the counters reflect it (who runs, who waits).
    std::lock_guard<std::mutex> lock(mu_);
    stats_ = engine.stats();
  }
  const Clock::time_point now = Clock::now();
  for (RequestOutput& o : *step) {
    auto it = live_.find(o.id);
    if (it == live_.end()) continue;
    Live& live = it->second;
    std::string text = detok_.Process(o, engine);  // a stop string finishes `o`
    if (!o.new_token_ids.empty()) {
      std::lock_guard<std::mutex> lock(mu_);
      const double since =
          std::chrono::duration<double>(now - live.last_token.value_or(live.arrival)).count();
      (live.last_token ? metrics_.inter_token_latency : metrics_.time_to_first_token)
          .Observe(since);
      live.last_token = now;
    }
    StreamDelta d;
    d.token_ids = std::move(o.new_token_ids);
    d.samples = std::move(o.new_samples);
    d.prompt_logprobs = std::move(o.prompt_logprobs);
    d.text = std::move(text);
    d.finished = o.finished;
    d.finish_reason = o.finish_reason;
    if (!o.finished) {
      live.stream->Push(std::move(d));
      continue;
    }
    detok_.Remove(o.id);
    const Live done = std::move(live);
    live_.erase(it);
    Finish(done, std::move(d));
  }
}

void AsyncEngine::Loop() {
  EngineCore& engine = llm_->engine();
  while (true) {
    std::deque<std::unique_ptr<PendingAdd>> adds;
    std::vector<std::string> aborts;
    bool abort_all = false;
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock,
               [&] { return stop_ || busy_ || !adds_.empty() || !aborts_.empty() || abort_all_; });
      if (stop_) return;
      adds.swap(adds_);
      aborts.swap(aborts_);
      std::swap(abort_all, abort_all_);
    }
    for (auto& add : adds) ApplyAdd(*add);
    if (abort_all) {
      for (const auto& [id, live] : live_) aborts.push_back(id);
    }
    for (const std::string& id : aborts) ApplyAbort(id);  // freed before this step
    if (engine.HasUnfinished()) RunStep();
    std::lock_guard<std::mutex> lock(mu_);
    busy_ = engine.HasUnfinished();
    stats_ = engine.stats();
    num_live_ = live_.size();
  }
}

}  // namespace loom
