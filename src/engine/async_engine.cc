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

AsyncEngine::AsyncEngine(std::unique_ptr<LLM> llm)
    : llm_(std::move(llm)), detok_(llm_->tokenizer()), thread_([this] { Loop(); }) {}

AsyncEngine::~AsyncEngine() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  thread_.join();
  // Whatever is left ends as aborted; adds that never reached the engine are refused.
  for (auto& [id, stream] : streams_) {
    StreamDelta d;
    d.finished = true;
    d.finish_reason = FinishReason::kAbort;
    stream->Push(std::move(d));
  }
  for (auto& add : adds_) add->verdict.set_value(Unimplemented("the engine is shutting down"));
}

Result<std::shared_ptr<RequestStream>> AsyncEngine::Add(std::vector<int32_t> prompt_ids, SamplingParams params) {
  if (params.n != 1) return InvalidArgument("the streaming API takes n = 1; got n = {}", params.n);
  auto add = std::make_unique<PendingAdd>();
  add->request.prompt_ids = std::move(prompt_ids);
  add->request.params = std::move(params);
  add->request.eos_token_ids = llm_->eos_token_ids();
  LOOM_ASSIGN_OR_RETURN(add->request.bad_words_ids, llm_->BadWordsIds(add->request.params));
  std::future<Status> verdict = add->verdict.get_future();
  std::shared_ptr<RequestStream> stream;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stop_) return Unimplemented("the engine is shutting down");
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

EngineStats AsyncEngine::stats() {
  std::lock_guard<std::mutex> lock(mu_);
  return stats_;
}

void AsyncEngine::ApplyAdd(PendingAdd& add) {
  Status s = llm_->engine().AddRequest(add.request);
  if (s.ok()) {
    detok_.Add(add.request.id, add.request.params, add.request.prompt_ids);
    streams_[add.request.id] = add.stream;
  }
  add.verdict.set_value(std::move(s));
}

void AsyncEngine::ApplyAbort(const std::string& id) {
  auto it = streams_.find(id);
  if (it == streams_.end()) return;  // already finished
  llm_->engine().Abort(id);
  detok_.Remove(id);
  StreamDelta d;
  d.finished = true;
  d.finish_reason = FinishReason::kAbort;
  it->second->Push(std::move(d));
  streams_.erase(it);
}

void AsyncEngine::RunStep() {
  EngineCore& engine = llm_->engine();
  Result<std::vector<RequestOutput>> step = engine.Step();
  if (!step.ok()) {  // an engine fault: fail every request rather than hang them
    for (auto& [id, stream] : streams_) {
      engine.Abort(id);
      detok_.Remove(id);
      StreamDelta d;
      d.finished = true;
      d.finish_reason = FinishReason::kAbort;
      d.error = step.status().message();
      stream->Push(std::move(d));
    }
    streams_.clear();
    return;
  }
  // Stop strings may still abort a request below; finished ones already freed their blocks, so
  // publish the counters before any client can see its last delta.
  const auto publish = [&] {
    std::lock_guard<std::mutex> lock(mu_);
    stats_ = engine.stats();
  };
  for (const RequestOutput& o : *step) {
    if (o.finished) {
      publish();
      break;
    }
  }
  for (RequestOutput& o : *step) {
    auto it = streams_.find(o.id);
    if (it == streams_.end()) continue;
    const OutputProcessor::Delta text = detok_.Process(o, engine);
    if (text.stopped) publish();  // the abort freed its blocks
    StreamDelta d;
    d.token_ids = std::move(o.new_token_ids);
    d.samples = std::move(o.new_samples);
    d.prompt_logprobs = std::move(o.prompt_logprobs);
    d.text = text.text;
    d.finished = o.finished;
    d.finish_reason = o.finish_reason;
    it->second->Push(std::move(d));
    if (o.finished) {
      detok_.Remove(o.id);
      streams_.erase(it);
    }
  }
}

void AsyncEngine::Loop() {
  EngineCore& engine = llm_->engine();
  while (true) {
    std::deque<std::unique_ptr<PendingAdd>> adds;
    std::vector<std::string> aborts;
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [&] { return stop_ || busy_ || !adds_.empty() || !aborts_.empty(); });
      if (stop_) return;
      adds.swap(adds_);
      aborts.swap(aborts_);
    }
    for (auto& add : adds) ApplyAdd(*add);
    for (const std::string& id : aborts) ApplyAbort(id);  // freed before this step
    if (engine.HasUnfinished()) RunStep();
    std::lock_guard<std::mutex> lock(mu_);
    busy_ = engine.HasUnfinished();
    stats_ = engine.stats();
  }
}

}  // namespace loom
