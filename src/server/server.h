// The OpenAI-compatible HTTP server (vLLM's api_server): routes, request parsing, SSE streaming.
// Generation runs on the AsyncEngine's thread; HTTP worker threads only parse, wait on streams
// and write. A client that disconnects mid-stream aborts its request at once.
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include "engine/async_engine.h"

namespace httplib {
class Server;
}

namespace loom::server {

struct ServerConfig {
  std::string host = "0.0.0.0";
  int port = 8000;
  std::string served_model_name;
  std::optional<std::string> api_key;
  std::string chat_template;  // the template text (may be empty: no chat endpoint)
  nlohmann::ordered_json tokenizer_config = nlohmann::ordered_json::object();
  nlohmann::json sampling_defaults = nlohmann::json::object();  // from --generation-config
  size_t max_body_bytes = 32 << 20;
  int threads = 64;  // HTTP workers: each open stream holds one
};

class Server {
 public:
  Server(std::unique_ptr<AsyncEngine> engine, ServerConfig config);
  ~Server();

  // Binds; the port actually bound (useful with port 0) or an error.
  Result<int> Bind();
  // Serves until Stop() or Shutdown(), and until the requests in flight are answered.
  void Listen();
  // Stops accepting connections; requests in flight go on.
  void Stop();
  // Answers new requests with 503, waits up to `grace` for the requests in flight to finish,
  // aborts the rest, and Stop()s once their responses are written.
  void Shutdown(std::chrono::milliseconds grace);

 private:
  void Routes();

  std::unique_ptr<AsyncEngine> engine_;
  ServerConfig config_;
  std::unique_ptr<httplib::Server> http_;
  int listen_fd_ = -1;
  std::atomic<bool> listening_{false};
  std::atomic<bool> stopping_{false};
  std::atomic<bool> draining_{false};
  std::atomic<int> in_flight_{0};  // generation requests not yet answered in full
  int64_t created_ = 0;
  std::atomic<uint64_t> next_id_{0};
};

}  // namespace loom::server
