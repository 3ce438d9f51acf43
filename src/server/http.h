// HTTP plumbing shared by the routes: JSON replies, OpenAI error bodies, request parsing, SSE.
#pragma once

#include <functional>
#include <nlohmann/json.hpp>
#include <string>

#include "engine/llm.h"
#include "server/api_error.h"

namespace httplib {
struct Request;
struct Response;
}  // namespace httplib

namespace loom::server {

// Invalid UTF-8 (a byte-level token cut mid-character) becomes U+FFFD, as Hugging Face decodes.
std::string Dump(const nlohmann::json& j);

void Reply(httplib::Response& res, int status, const nlohmann::json& body);
void Fail(httplib::Response& res, const ApiError& e);

// Parses a JSON object body whose `model`, if given, is `model_name`; otherwise fills `res` with
// the error (400, or 404 for another model) and returns false.
bool ParseBody(const httplib::Request& req, httplib::Response& res, const std::string& model_name,
               nlohmann::json* body);

// An optional boolean field (null = `fallback`); another type is an error naming it.
Result<bool> BoolField(const nlohmann::json& object, const char* key, bool fallback);

// stream_options.include_usage; stream_options are an error without stream (as vLLM).
Result<bool> IncludeUsage(const nlohmann::json& body, bool stream);

// "stop"/"length"/"abort", or null while unfinished.
nlohmann::json FinishReasonJson(FinishReason r);
nlohmann::json Usage(size_t prompt_tokens, size_t completion_tokens);

// Sends what `produce` emits as server-sent events (`data: {json}`), then `data: [DONE]` if
// produce returns true. `send` returns false once the client is gone.
using SendEvent = std::function<bool(const nlohmann::json&)>;
void StreamEvents(httplib::Response& res, std::function<bool(const SendEvent& send)> produce);

}  // namespace loom::server
