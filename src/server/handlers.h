// The generation routes, one file each: what they share of the server.
#pragma once

#include <atomic>
#include <memory>
#include <string>

#include "server/server.h"

namespace httplib {
struct Request;
struct Response;
}  // namespace httplib

namespace loom::server {

// Counts a request from its route to its last byte: a streamed response's provider keeps it.
class InFlight {
 public:
  explicit InFlight(std::atomic<int>& count) : count_(count) { ++count_; }
  ~InFlight() { --count_; }
  InFlight(const InFlight&) = delete;
  InFlight& operator=(const InFlight&) = delete;

 private:
  std::atomic<int>& count_;
};

struct Context {
  AsyncEngine& engine;
  const ServerConfig& config;
  int64_t created;                 // unix seconds, the `created` of every response
  std::atomic<uint64_t>& next_id;  // response ids
  std::shared_ptr<InFlight> in_flight;
};

void HandleCompletions(Context& ctx, const httplib::Request& req, httplib::Response& res);
void HandleChat(Context& ctx, const httplib::Request& req, httplib::Response& res);
// Prometheus text of /metrics.
std::string RenderMetrics(AsyncEngine& engine, const std::string& model_name);

}  // namespace loom::server
