// The async request API the server uses: requests are added from any thread and stream their
// deltas back while a background thread steps the engine; Abort (a client gone) frees everything
// the request holds before the next step. Only the engine thread touches the engine: Add and
// Abort hand their work over through a queue and Add waits (at most one step) for the verdict.
#pragma once

#include <chrono>
#include <condition_variable>
#include <deque>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "engine/llm.h"
#include "engine/output_processor.h"
#include "engine/serving_metrics.h"

namespace loom {

struct StreamDelta {
  std::vector<int32_t> token_ids;
  std::vector<SampleOutput> samples;
  std::string text;  // releasable text (stop-string prefixes held back until disambiguated)
  std::vector<SampleOutput> prompt_logprobs;  // prompt tokens 1.., with the first delta
  bool finished = false;
  FinishReason finish_reason = FinishReason::kNone;
  std::string error;  // set (with finished) when the engine failed the request
};

class RequestStream {
 public:
  explicit RequestStream(std::string id) : id_(std::move(id)) {}
  const std::string& id() const { return id_; }
  // Blocks until a delta is ready; nullopt once the finished delta has been taken.
  std::optional<StreamDelta> Next();

 private:
  friend class AsyncEngine;
  void Push(StreamDelta d);

  std::string id_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<StreamDelta> queue_;
  bool closed_ = false;  // the finished delta was pushed
  bool drained_ = false;
};

class AsyncEngine {
 public:
  // Takes over `llm` (its engine and tokenizer) and starts the engine thread. With
  // max_queued_requests > 0, Add refuses (Unavailable) requests beyond that many waiting ones.
  explicit AsyncEngine(std::unique_ptr<LLM> llm, int max_queued_requests = 0);
  ~AsyncEngine();  // aborts what is left and joins the thread

  // Validates and queues a request (n must be 1: fan out n > 1 as separate requests). Errors are
  // the request's fault and leave other requests untouched, except Unavailable (overloaded).
  Result<std::shared_ptr<RequestStream>> Add(std::vector<int32_t> prompt_ids,
                                             SamplingParams params);
  void Abort(const std::string& id);
  void AbortAll();
  // No request is queued or running.
  bool Idle();

  LLM& llm() { return *llm_; }
  // The engine's counters as of the last step.
  EngineStats stats();
  ServingMetrics metrics();

 private:
  using Clock = std::chrono::steady_clock;
  struct PendingAdd {
    EngineRequest request;
    std::shared_ptr<RequestStream> stream;
    Clock::time_point arrival;
    std::promise<Status> verdict;
  };
  struct Live {  // a request the engine runs
    std::shared_ptr<RequestStream> stream;
    Clock::time_point arrival;
    std::optional<Clock::time_point> last_token;
  };
  void Loop();
  void ApplyAdd(PendingAdd& add);
  void ApplyAbort(const std::string& id);
  void RunStep();
  void Finish(const Live& live, StreamDelta d);  // pushes the last delta; records metrics

  std::unique_ptr<LLM> llm_;
  // Engine thread only:
  OutputProcessor detok_;
  std::map<std::string, Live> live_;
  // Guarded by mu_:
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::unique_ptr<PendingAdd>> adds_;
  std::vector<std::string> aborts_;
  bool abort_all_ = false;
  size_t num_live_ = 0;  // live_.size() for other threads
  bool busy_ = false;    // the engine has unfinished requests
  bool stop_ = false;
  uint64_t next_id_ = 0;
  EngineStats stats_;
  ServingMetrics metrics_;
  const int max_queued_requests_;
  std::thread thread_;
};

}  // namespace loom
