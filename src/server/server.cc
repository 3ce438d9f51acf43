#include "server/server.h"

#include <fmt/format.h>
#include <httplib.h>

#include <chrono>

#include "frontend/chat_template.h"
#include "server/api_error.h"
#include "server/generation.h"

namespace loom::server {
namespace {

using nlohmann::json;
using nlohmann::ordered_json;

constexpr const char* kVersion = "0.1.0";

// Invalid UTF-8 (a byte-level token cut mid-character) becomes U+FFFD, as Hugging Face decodes.
std::string Dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

void Reply(httplib::Response& res, int status, const json& body) {
  res.status = status;
  res.set_content(Dump(body), "application/json");
}
void Fail(httplib::Response& res, const ApiError& e) { Reply(res, e.status, e.Body()); }

std::string_view Reason(FinishReason r) {
  return r == FinishReason::kNone ? std::string_view() : FinishReasonName(r);
}

json Usage(size_t prompt_tokens, size_t completion_tokens) {
  return {{"prompt_tokens", prompt_tokens},
          {"completion_tokens", completion_tokens},
          {"total_tokens", prompt_tokens + completion_tokens}};
}

}  // namespace

Server::Server(std::unique_ptr<AsyncEngine> engine, ServerConfig config)
    : engine_(std::move(engine)), config_(std::move(config)), http_(std::make_unique<httplib::Server>()) {
  created_ = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
  const int threads = config_.threads;
  http_->new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  http_->set_payload_max_length(config_.max_body_bytes);
  http_->set_keep_alive_max_count(1000);
  Routes();
}

Server::~Server() = default;

Result<int> Server::Bind() {
  const int port = config_.port == 0 ? http_->bind_to_any_port(config_.host) : config_.port;
  if (config_.port != 0 && !http_->bind_to_port(config_.host, config_.port)) {
    return InvalidArgument("cannot listen on {}:{} (in use, or no permission)", config_.host, config_.port);
  }
  if (port < 0) return InvalidArgument("cannot listen on {}", config_.host);
  return port;
}

void Server::Listen() { http_->listen_after_bind(); }
void Server::Stop() { http_->stop(); }

void Server::Routes() {
  httplib::Server& s = *http_;
  const std::string model_name = config_.served_model_name;

  // Authentication for the OpenAI routes when a key is set.
  s.set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
    if (!config_.api_key || req.path.rfind("/v1/", 0) != 0) return httplib::Server::HandlerResponse::Unhandled;
    if (req.get_header_value("Authorization") == "Bearer " + *config_.api_key) {
      return httplib::Server::HandlerResponse::Unhandled;
    }
    Fail(res, {401, "Incorrect or missing API key.", "AuthenticationError", ""});
    return httplib::Server::HandlerResponse::Handled;
  });
  s.set_error_handler([](const httplib::Request& req, httplib::Response& res) {
    if (res.status == 404 && res.body.empty()) Fail(res, {404, fmt::format("Route {} {} not found", req.method, req.path), "NotFoundError", ""});
    if (res.status == 413) Fail(res, {413, "Request body too large", "BadRequestError", ""});
  });
  s.set_exception_handler([](const httplib::Request&, httplib::Response& res, std::exception_ptr) {
    Fail(res, {500, "internal error", "InternalServerError", ""});
  });

  s.Get("/health", [](const httplib::Request&, httplib::Response& res) { res.status = 200; });
  s.Get("/version", [](const httplib::Request&, httplib::Response& res) { Reply(res, 200, {{"version", kVersion}}); });
  s.Get("/v1/models", [this, model_name](const httplib::Request&, httplib::Response& res) {
    Reply(res, 200,
          {{"object", "list"},
           {"data", json::array({{{"id", model_name}, {"object", "model"}, {"created", created_}, {"owned_by", "loom"},
                                  {"root", model_name}, {"parent", nullptr},
                                  {"max_model_len", engine_->llm().engine().max_model_len()}}})}});
  });

  // Parses a JSON object body and checks `model`; fills res with the error otherwise.
  auto parse = [model_name](const httplib::Request& req, httplib::Response& res, json* body) {
    *body = json::parse(req.body, nullptr, /*allow_exceptions=*/false);
    if (!body->is_object()) {
      Fail(res, {400, "The request body must be a JSON object", "BadRequestError", ""});
      return false;
    }
    if (body->contains("model") && !(*body)["model"].is_null() && (*body)["model"] != model_name) {
      Fail(res, {404, fmt::format("The model `{}` does not exist.", Dump((*body)["model"])), "NotFoundError", "model"});
      return false;
    }
    return true;
  };

  s.Post("/v1/completions", [this, parse, model_name](const httplib::Request& req, httplib::Response& res) {
    json body;
    if (!parse(req, res, &body)) return;
    // prompt: a string, a list of strings, a list of token ids, or a list of such lists.
    std::vector<std::vector<int32_t>> prompts;
    const json& p = body.value("prompt", json());
    auto add_text = [&](const json& t) -> Status {
      LOOM_ASSIGN_OR_RETURN(std::vector<int32_t> ids, engine_->llm().Encode(t.get<std::string>()));
      prompts.push_back(std::move(ids));
      return Status::Ok();
    };
    Status st;
    if (p.is_string()) {
      st = add_text(p);
    } else if (p.is_array() && !p.empty() && p[0].is_number_integer()) {
      prompts.push_back(p.get<std::vector<int32_t>>());
    } else if (p.is_array() && !p.empty()) {
      for (const json& e : p) {
        if (e.is_string()) {
          st = add_text(e);
        } else if (e.is_array() && !e.empty()) {
          prompts.push_back(e.get<std::vector<int32_t>>());
        } else {
          st = InvalidArgument("prompt must be a string, a list of strings or token ids");
        }
        if (!st.ok()) break;
      }
    } else {
      st = InvalidArgument("prompt must be a non-empty string, list of strings or list of token ids");
    }
    if (!st.ok()) return Fail(res, ApiError::From(st));
    Result<SamplingParams> params = SamplingParams::FromJson(body);
    if (!params.ok()) return Fail(res, ApiError::From(params.status()));
    Result<std::vector<std::shared_ptr<RequestStream>>> streams = StartChoices(*engine_, prompts, *params);
    if (!streams.ok()) return Fail(res, ApiError::From(streams.status()));
    const std::string id = fmt::format("cmpl-{}", next_id_++);
    const int n = std::max(1, params->n);
    size_t prompt_tokens = 0;
    for (const auto& pr : prompts) prompt_tokens += pr.size() * n;

    if (!body.value("stream", false)) {
      std::vector<Choice> choices = Collect(*streams);
      json out = {{"id", id}, {"object", "text_completion"}, {"created", created_}, {"model", model_name}};
      json arr = json::array();
      size_t completion_tokens = 0;
      for (const Choice& c : choices) {
        completion_tokens += c.token_ids.size();
        arr.push_back({{"index", c.index}, {"text", c.text}, {"logprobs", nullptr}, {"finish_reason", Reason(c.finish_reason)},
                       {"stop_reason", nullptr}});
      }
      out["choices"] = arr;
      out["usage"] = Usage(prompt_tokens, completion_tokens);
      return Reply(res, 200, out);
    }
    const bool include_usage = body.contains("stream_options") && body["stream_options"].is_object() &&
                               body["stream_options"].value("include_usage", false);
    auto streams_ptr = std::make_shared<std::vector<std::shared_ptr<RequestStream>>>(std::move(*streams));
    res.set_chunked_content_provider(
        "text/event-stream", [this, streams_ptr, id, model_name, include_usage, prompt_tokens](size_t, httplib::DataSink& sink) {
          size_t completion_tokens = 0;
          const bool ok = Forward(*engine_, *streams_ptr, [&](int index, const StreamDelta& d) {
            completion_tokens += d.token_ids.size();
            const json chunk = {{"id", id}, {"object", "text_completion"}, {"created", created_}, {"model", model_name},
                                {"choices", json::array({{{"index", index}, {"text", d.text}, {"logprobs", nullptr},
                                                          {"finish_reason", d.finished ? json(Reason(d.finish_reason)) : json(nullptr)}}})}};
            const std::string line = "data: " + Dump(chunk) + "\n\n";
            return sink.write(line.data(), line.size());
          });
          if (ok) {
            if (include_usage) {
              const std::string u = "data: " + Dump({{"id", id}, {"object", "text_completion"}, {"created", created_},
                                                     {"model", model_name}, {"choices", json::array()},
                                                     {"usage", Usage(prompt_tokens, completion_tokens)}}) + "\n\n";
              sink.write(u.data(), u.size());
            }
            const std::string done = "data: [DONE]\n\n";
            sink.write(done.data(), done.size());
          }
          sink.done();
          return ok;
        });
  });

  s.Post("/v1/chat/completions", [this, parse, model_name](const httplib::Request& req, httplib::Response& res) {
    json body;
    if (!parse(req, res, &body)) return;
    if (config_.chat_template.empty()) {
      return Fail(res, {400, "this model has no chat template; start the server with --chat-template", "BadRequestError", ""});
    }
    if (!body.contains("messages") || !body["messages"].is_array() || body["messages"].empty()) {
      return Fail(res, {400, "`messages` must be a non-empty list", "BadRequestError", "messages"});
    }
    // Key order matters to templates (tojson of tools): re-parse the body keeping it.
    const ordered_json ob = ordered_json::parse(req.body, nullptr, false);
    ChatTemplateRequest chat;
    chat.messages = ob["messages"];
    if (ob.contains("tools") && ob["tools"].is_array()) chat.tools = ob["tools"];
    chat.add_generation_prompt = ob.value("add_generation_prompt", true);
    chat.continue_final_message = ob.value("continue_final_message", false);
    if (chat.continue_final_message && !ob.contains("add_generation_prompt")) chat.add_generation_prompt = false;
    if (ob.contains("chat_template_kwargs") && ob["chat_template_kwargs"].is_object()) chat.extra_kwargs = ob["chat_template_kwargs"];
    Result<std::string> prompt = RenderChat(config_.chat_template, config_.tokenizer_config, chat);
    if (!prompt.ok()) return Fail(res, ApiError::From(prompt.status()));
    const std::optional<Tokenizer>& tok = engine_->llm().tokenizer();
    if (!tok) return Fail(res, {400, "this model has no tokenizer", "BadRequestError", ""});
    // The template already placed BOS and friends: no special tokens are added again (vLLM).
    Result<Encoding> enc = tok->Encode(*prompt, std::nullopt, /*add_special_tokens=*/false);
    if (!enc.ok()) return Fail(res, ApiError::From(enc.status()));
    // max_completion_tokens is the chat name of max_tokens; unset means "until the context is full".
    json pj = body;
    if (pj.contains("max_completion_tokens")) pj["max_tokens"] = pj["max_completion_tokens"];
    if (!pj.contains("max_tokens")) pj["max_tokens"] = nullptr;
    if (pj.value("logprobs", false) == true) pj["logprobs"] = pj.value("top_logprobs", 0);
    else pj.erase("logprobs");
    Result<SamplingParams> params = SamplingParams::FromJson(pj);
    if (!params.ok()) return Fail(res, ApiError::From(params.status()));
    const std::vector<std::vector<int32_t>> prompts = {enc->ids};
    Result<std::vector<std::shared_ptr<RequestStream>>> streams = StartChoices(*engine_, prompts, *params);
    if (!streams.ok()) return Fail(res, ApiError::From(streams.status()));
    const std::string id = fmt::format("chatcmpl-{}", next_id_++);
    const size_t prompt_tokens = enc->ids.size() * std::max(1, params->n);

    if (!body.value("stream", false)) {
      std::vector<Choice> choices = Collect(*streams);
      json arr = json::array();
      size_t completion_tokens = 0;
      for (const Choice& c : choices) {
        completion_tokens += c.token_ids.size();
        arr.push_back({{"index", c.index},
                       {"message", {{"role", "assistant"}, {"content", c.text}}},
                       {"logprobs", nullptr},
                       {"finish_reason", Reason(c.finish_reason)}});
      }
      return Reply(res, 200, {{"id", id}, {"object", "chat.completion"}, {"created", created_}, {"model", model_name},
                              {"choices", arr}, {"usage", Usage(prompt_tokens, completion_tokens)}});
    }
    const bool include_usage = body.contains("stream_options") && body["stream_options"].is_object() &&
                               body["stream_options"].value("include_usage", false);
    auto streams_ptr = std::make_shared<std::vector<std::shared_ptr<RequestStream>>>(std::move(*streams));
    res.set_chunked_content_provider(
        "text/event-stream", [this, streams_ptr, id, model_name, include_usage, prompt_tokens](size_t, httplib::DataSink& sink) {
          auto send = [&](const json& chunk) {
            const std::string line = "data: " + Dump(chunk) + "\n\n";
            return sink.write(line.data(), line.size());
          };
          const json head = {{"id", id}, {"object", "chat.completion.chunk"}, {"created", created_}, {"model", model_name}};
          // As OpenAI: the first chunk of each choice carries the role.
          for (size_t i = 0; i < streams_ptr->size(); ++i) {
            json c = head;
            c["choices"] = json::array({{{"index", i}, {"delta", {{"role", "assistant"}, {"content", ""}}}, {"logprobs", nullptr},
                                         {"finish_reason", nullptr}}});
            send(c);
          }
          size_t completion_tokens = 0;
          const bool ok = Forward(*engine_, *streams_ptr, [&](int index, const StreamDelta& d) {
            completion_tokens += d.token_ids.size();
            json c = head;
            c["choices"] = json::array({{{"index", index}, {"delta", d.text.empty() ? json::object() : json{{"content", d.text}}},
                                         {"logprobs", nullptr},
                                         {"finish_reason", d.finished ? json(Reason(d.finish_reason)) : json(nullptr)}}});
            return send(c);
          });
          if (ok) {
            if (include_usage) {
              json u = head;
              u["choices"] = json::array();
              u["usage"] = Usage(prompt_tokens, completion_tokens);
              send(u);
            }
            const std::string done = "data: [DONE]\n\n";
            sink.write(done.data(), done.size());
          }
          sink.done();
          return ok;
        });
  });

  // Prometheus text with vLLM's metric names under the loom: prefix.
  s.Get("/metrics", [this, model_name](const httplib::Request&, httplib::Response& res) {
    const EngineStats st = engine_->stats();
    const std::string label = fmt::format("{{model_name=\"{}\"}}", model_name);
    std::string out;
    auto metric = [&](const char* name, const char* type, const char* help, double v) {
      out += fmt::format("# HELP loom:{} {}\n# TYPE loom:{} {}\nloom:{}{} {}\n", name, help, name, type, name, label, v);
    };
    metric("num_requests_running", "gauge", "Requests in the running batch.", static_cast<double>(st.num_running));
    metric("num_requests_waiting", "gauge", "Requests waiting to be scheduled.", static_cast<double>(st.num_waiting));
    metric("kv_cache_usage_perc", "gauge", "Fraction of KV blocks held by requests (1 = full).",
           st.total_blocks == 0 ? 0.0 : 1.0 - static_cast<double>(st.free_blocks) / st.total_blocks);
    metric("prefix_cache_queries_total", "counter", "Prompt tokens looked up in the prefix cache.",
           static_cast<double>(st.prefix_query_tokens));
    metric("prefix_cache_hits_total", "counter", "Prompt tokens found in the prefix cache.", static_cast<double>(st.prefix_hit_tokens));
    metric("prompt_tokens_total", "counter", "Prompt tokens computed.", static_cast<double>(st.prompt_tokens));
    metric("generation_tokens_total", "counter", "Tokens generated.", static_cast<double>(st.generated_tokens));
    metric("num_preemptions_total", "counter", "Requests preempted by recompute.", static_cast<double>(st.preemptions));
    res.set_content(out, "text/plain; version=0.0.4");
  });

  s.Post("/tokenize", [this, parse](const httplib::Request& req, httplib::Response& res) {
    json body;
    if (!parse(req, res, &body)) return;
    Result<std::vector<int32_t>> ids = InvalidArgument("tokenize needs a string `prompt` or a list of `messages`");
    if (body.contains("prompt") && body["prompt"].is_string()) {
      ids = engine_->llm().Encode(body["prompt"].get<std::string>());
    } else if (body.contains("messages") && body["messages"].is_array() && engine_->llm().tokenizer()) {
      // As vLLM: the chat prompt the template renders, without adding special tokens again.
      const ordered_json ob = ordered_json::parse(req.body, nullptr, false);
      ChatTemplateRequest chat;
      chat.messages = ob["messages"];
      chat.add_generation_prompt = ob.value("add_generation_prompt", true);
      Result<std::string> prompt = RenderChat(config_.chat_template, config_.tokenizer_config, chat);
      if (!prompt.ok()) return Fail(res, ApiError::From(prompt.status()));
      Result<Encoding> enc = engine_->llm().tokenizer()->Encode(*prompt, std::nullopt, false);
      if (!enc.ok()) return Fail(res, ApiError::From(enc.status()));
      ids = enc->ids;
    }
    if (!ids.ok()) return Fail(res, ApiError::From(ids.status()));
    Reply(res, 200, {{"count", ids->size()}, {"max_model_len", engine_->llm().engine().max_model_len()}, {"tokens", *ids}});
  });

  s.Post("/detokenize", [this, parse](const httplib::Request& req, httplib::Response& res) {
    json body;
    if (!parse(req, res, &body)) return;
    const std::optional<Tokenizer>& tok = engine_->llm().tokenizer();
    if (!tok) return Fail(res, {400, "this model has no tokenizer", "BadRequestError", ""});
    if (!body.contains("tokens") || !body["tokens"].is_array()) {
      return Fail(res, {400, "detokenize needs `tokens`, a list of token ids", "BadRequestError", "tokens"});
    }
    std::vector<int32_t> ids;
    for (const json& t : body["tokens"]) {
      if (!t.is_number_integer() || t.get<int64_t>() < 0 || t.get<int64_t>() >= tok->VocabSize()) {
        return Fail(res, {400, fmt::format("token id {} is out of range", Dump(t)), "BadRequestError", "tokens"});
      }
      ids.push_back(t.get<int32_t>());
    }
    Reply(res, 200, {{"prompt", tok->Decode(ids, false)}});
  });
}

}  // namespace loom::server
