#include "server/http.h"

#include <fmt/format.h>
#include <httplib.h>

namespace loom::server {

using nlohmann::json;

std::string Dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

void Reply(httplib::Response& res, int status, const json& body) {
  res.status = status;
  res.set_content(Dump(body), "application/json");
}

void Fail(httplib::Response& res, const ApiError& e) { Reply(res, e.status, e.Body()); }

bool ParseBody(const httplib::Request& req, httplib::Response& res, const std::string& model_name,
               json* body) {
  *body = json::parse(req.body, nullptr, /*allow_exceptions=*/false);
  if (!body->is_object()) {
    Fail(res, {400, "The request body must be a JSON object", "BadRequestError", ""});
    return false;
  }
  if (body->contains("model") && !(*body)["model"].is_null() && (*body)["model"] != model_name) {
    const json& model = (*body)["model"];
    Fail(res, {404,
               fmt::format("The model `{}` does not exist.",
                           model.is_string() ? model.get<std::string>() : Dump(model)),
               "NotFoundError", "model"});
    return false;
  }
  return true;
}

Result<bool> BoolField(const json& object, const char* key, bool fallback) {
  const auto it = object.find(key);
  if (it == object.end() || it->is_null()) return fallback;
  if (!it->is_boolean()) return InvalidArgument("{} must be a boolean, got {}", key, Dump(*it));
  return it->get<bool>();
}

Result<bool> IncludeUsage(const json& body, bool stream) {
  const auto it = body.find("stream_options");
  if (it == body.end() || it->is_null()) return false;
  if (!stream) return InvalidArgument("Stream options can only be defined when `stream=True`.");
  if (!it->is_object())
    return InvalidArgument("stream_options must be an object, got {}", Dump(*it));
  return BoolField(*it, "include_usage", false);
}

json FinishReasonJson(FinishReason r) {
  return r == FinishReason::kNone ? json(nullptr) : json(FinishReasonName(r));
}

json Usage(size_t prompt_tokens, size_t completion_tokens) {
  return {{"prompt_tokens", prompt_tokens},
          {"completion_tokens", completion_tokens},
          {"total_tokens", prompt_tokens + completion_tokens}};
}

void StreamEvents(httplib::Response& res, std::function<bool(const SendEvent& send)> produce) {
  res.set_chunked_content_provider("text/event-stream",
                                   [produce = std::move(produce)](size_t, httplib::DataSink& sink) {
                                     const SendEvent send = [&sink](const json& event) {
                                       const std::string line = "data: " + Dump(event) + "\n\n";
                                       return sink.write(line.data(), line.size());
                                     };
                                     const bool ok = produce(send);
                                     if (ok) {
                                       const std::string done = "data: [DONE]\n\n";
                                       sink.write(done.data(), done.size());
                                     }
                                     sink.done();
                                     return ok;
                                   });
}

}  // namespace loom::server
