#include "server/server.h"

#include <fmt/format.h>
#include <httplib.h>
#include <sys/socket.h>

#include <chrono>
#include <thread>

#include "frontend/chat_template.h"
#include "server/handlers.h"
#include "server/http.h"

namespace loom::server {
namespace {

using nlohmann::json;
using nlohmann::ordered_json;

constexpr const char* kVersion = "0.1.0";

}  // namespace

Server::Server(std::unique_ptr<AsyncEngine> engine, ServerConfig config)
    : engine_(std::move(engine)),
      config_(std::move(config)),
      http_(std::make_unique<httplib::Server>()) {
  created_ = std::chrono::duration_cast<std::chrono::seconds>(
                 std::chrono::system_clock::now().time_since_epoch())
                 .count();
  const int threads = config_.threads;
  http_->new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  http_->set_payload_max_length(config_.max_body_bytes);
  http_->set_keep_alive_max_count(1000);
  // Streamed chunks go out at once, not after the peer's delayed ACK (40 ms per chunk otherwise).
  http_->set_tcp_nodelay(true);
  // Not httplib's SO_REUSEPORT: a port in use is an error, not a second server sharing it.
  http_->set_socket_options([this](int fd) {
    const int yes = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
    listen_fd_ = fd;
  });
  // An idle keep-alive connection holds a worker, and Shutdown waits for workers.
  http_->set_keep_alive_timeout(2);
  Routes();
}

Server::~Server() = default;

Result<int> Server::Bind() {
  const int port = config_.port == 0 ? http_->bind_to_any_port(config_.host) : config_.port;
  if (config_.port != 0 && !http_->bind_to_port(config_.host, config_.port)) {
    return InvalidArgument("cannot listen on {}:{} (in use, or no permission)", config_.host,
                           config_.port);
  }
  if (port < 0) return InvalidArgument("cannot listen on {}", config_.host);
  // httplib listens with a backlog of 5: a burst of clients would see refused connections and
  // retry seconds later. Listening again on the bound socket raises it.
  ::listen(listen_fd_, SOMAXCONN);
  return port;
}

void Server::Listen() {
  listening_ = true;
  if (!stopping_) http_->listen_after_bind();
  listening_ = false;
}

void Server::Stop() {
  stopping_ = true;
  // httplib ignores stop() until its accept loop runs; a Listen that saw stopping_ never runs it.
  while (listening_ && !http_->is_running()) std::this_thread::yield();
  http_->stop();
}

void Server::Shutdown(std::chrono::milliseconds grace) {
  // httplib's stop() cuts streamed responses off mid-way: it comes last, once they are written.
  draining_ = true;
  using Clock = std::chrono::steady_clock;
  const auto deadline = Clock::now() + grace;
  while (!engine_->Idle() && Clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  engine_->AbortAll();
  // Aborted streams still write their last chunk and [DONE]; a client that stopped reading
  // cannot hold the exit up for long.
  const auto flush_deadline = Clock::now() + std::chrono::seconds(5);
  while (in_flight_ > 0 && Clock::now() < flush_deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  Stop();
}

void Server::Routes() {
  httplib::Server& s = *http_;
  const std::string model_name = config_.served_model_name;

  // Authentication for the OpenAI routes when a key is set.
  s.set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
    if (draining_) {
      Fail(res, {503, "The server is shutting down.", "ServiceUnavailableError", ""});
      return httplib::Server::HandlerResponse::Handled;
    }
    if (!config_.api_key || req.path.rfind("/v1/", 0) != 0)
      return httplib::Server::HandlerResponse::Unhandled;
    if (req.get_header_value("Authorization") == "Bearer " + *config_.api_key) {
      return httplib::Server::HandlerResponse::Unhandled;
    }
    Fail(res, {401, "Incorrect or missing API key.", "AuthenticationError", ""});
    return httplib::Server::HandlerResponse::Handled;
  });
  s.set_error_handler([](const httplib::Request& req, httplib::Response& res) {
    if (res.status == 404 && res.body.empty())
      Fail(res,
           {404, fmt::format("Route {} {} not found", req.method, req.path), "NotFoundError", ""});
    if (res.status == 413) Fail(res, {413, "Request body too large", "BadRequestError", ""});
  });
  s.set_exception_handler([](const httplib::Request&, httplib::Response& res, std::exception_ptr) {
    Fail(res, {500, "internal error", "InternalServerError", ""});
  });

  s.Get("/health", [](const httplib::Request&, httplib::Response& res) { res.status = 200; });
  s.Get("/version", [](const httplib::Request&, httplib::Response& res) {
    Reply(res, 200, {{"version", kVersion}});
  });
  s.Get("/v1/models", [this, model_name](const httplib::Request&, httplib::Response& res) {
    Reply(res, 200,
          {{"object", "list"},
           {"data", json::array({{{"id", model_name},
                                  {"object", "model"},
                                  {"created", created_},
                                  {"owned_by", "loom"},
                                  {"root", model_name},
                                  {"parent", nullptr},
                                  {"max_model_len", engine_->llm().engine().max_model_len()}}})}});
  });

  auto parse = [model_name](const httplib::Request& req, httplib::Response& res, json* body) {
    return ParseBody(req, res, model_name, body);
  };
  s.Post("/v1/completions", [this](const httplib::Request& req, httplib::Response& res) {
    Context ctx{*engine_, config_, created_, next_id_, std::make_shared<InFlight>(in_flight_)};
    HandleCompletions(ctx, req, res);
  });
  s.Post("/v1/chat/completions", [this](const httplib::Request& req, httplib::Response& res) {
    Context ctx{*engine_, config_, created_, next_id_, std::make_shared<InFlight>(in_flight_)};
    HandleChat(ctx, req, res);
  });
  s.Get("/metrics", [this, model_name](const httplib::Request&, httplib::Response& res) {
    res.set_content(RenderMetrics(*engine_, model_name), "text/plain; version=0.0.4");
  });

  s.Post("/tokenize", [this, parse](const httplib::Request& req, httplib::Response& res) {
    json body;
    if (!parse(req, res, &body)) return;
    Result<std::vector<int32_t>> ids =
        InvalidArgument("tokenize needs a string `prompt` or a list of `messages`");
    if (body.contains("prompt") && body["prompt"].is_string()) {
      ids = engine_->llm().Encode(body["prompt"].get<std::string>());
    } else if (body.contains("messages") && body["messages"].is_array() &&
               engine_->llm().tokenizer()) {
      // As vLLM: the chat prompt the template renders, without adding special tokens again.
      const ordered_json ob = ordered_json::parse(req.body, nullptr, false);
      ChatTemplateRequest chat;
      chat.messages = ob["messages"];
      chat.add_generation_prompt = ob.value("add_generation_prompt", true);
      Result<std::string> prompt =
          RenderChat(config_.chat_template, config_.tokenizer_config, chat);
      if (!prompt.ok()) return Fail(res, ApiError::From(prompt.status()));
      Result<Encoding> enc = engine_->llm().tokenizer()->Encode(*prompt, std::nullopt, false);
      if (!enc.ok()) return Fail(res, ApiError::From(enc.status()));
      ids = enc->ids;
    }
    if (!ids.ok()) return Fail(res, ApiError::From(ids.status()));
    Reply(res, 200,
          {{"count", ids->size()},
           {"max_model_len", engine_->llm().engine().max_model_len()},
           {"tokens", *ids}});
  });

  s.Post("/detokenize", [this, parse](const httplib::Request& req, httplib::Response& res) {
    json body;
    if (!parse(req, res, &body)) return;
    const std::optional<Tokenizer>& tok = engine_->llm().tokenizer();
    if (!tok) return Fail(res, {400, "this model has no tokenizer", "BadRequestError", ""});
    if (!body.contains("tokens") || !body["tokens"].is_array()) {
      return Fail(res, {400, "detokenize needs `tokens`, a list of token ids", "BadRequestError",
                        "tokens"});
    }
    std::vector<int32_t> ids;
    for (const json& t : body["tokens"]) {
      if (!t.is_number_integer() || t.get<int64_t>() < 0 || t.get<int64_t>() >= tok->VocabSize()) {
        return Fail(res, {400, fmt::format("token id {} is out of range", Dump(t)),
                          "BadRequestError", "tokens"});
      }
      ids.push_back(t.get<int32_t>());
    }
    Reply(res, 200, {{"prompt", tok->Decode(ids, false)}});
  });
}

}  // namespace loom::server
