// POST /v1/chat/completions: messages rendered by the model's chat template, tokenized without
// adding special tokens again (vLLM), n choices, logprobs/top_logprobs, SSE streaming.
#include <fmt/format.h>
#include <httplib.h>

#include "frontend/chat_template.h"
#include "server/generation.h"
#include "server/handlers.h"
#include "server/http.h"
#include "server/logprobs_json.h"

namespace loom::server {
namespace {

using nlohmann::json;
using nlohmann::ordered_json;

// The request's sampling fields under the names SamplingParams reads.
Result<json> SamplingJson(const json& body, const json& defaults) {
  json pj = body;
  // max_completion_tokens is the chat name of max_tokens; unset means "until the context is full".
  if (pj.contains("max_completion_tokens")) pj["max_tokens"] = pj["max_completion_tokens"];
  if (!pj.contains("max_tokens")) pj["max_tokens"] = nullptr;
  LOOM_ASSIGN_OR_RETURN(const bool logprobs, BoolField(body, "logprobs", false));
  const json top = body.value("top_logprobs", json());
  if (!top.is_null() && (!top.is_number_integer() || top.get<int64_t>() < 0)) {
    return InvalidArgument("top_logprobs must be a non-negative integer, got {}", Dump(top));
  }
  if (!top.is_null() && !logprobs)
    return InvalidArgument("when using `top_logprobs`, `logprobs` must be set to true.");
  if (logprobs) {
    pj["logprobs"] = top.is_null() ? 0 : top.get<int64_t>();
  } else {
    pj.erase("logprobs");
  }
  return WithSamplingDefaults(defaults, std::move(pj));
}

}  // namespace

void HandleChat(Context& ctx, const httplib::Request& req, httplib::Response& res) {
  const std::string& model_name = ctx.config.served_model_name;
  json body;
  if (!ParseBody(req, res, model_name, &body)) return;
  if (ctx.config.chat_template.empty()) {
    return Fail(res, {400, "this model has no chat template; start the server with --chat-template",
                      "BadRequestError", ""});
  }
  if (!body.contains("messages") || !body["messages"].is_array() || body["messages"].empty()) {
    return Fail(res, {400, "`messages` must be a non-empty list", "BadRequestError", "messages"});
  }
  const Result<bool> stream = BoolField(body, "stream", false);
  const Result<bool> add_generation_prompt = BoolField(body, "add_generation_prompt", true);
  const Result<bool> continue_final_message = BoolField(body, "continue_final_message", false);
  const Result<bool> include_usage = IncludeUsage(body, stream.ok() && *stream);
  for (const auto* r : {&stream, &add_generation_prompt, &continue_final_message, &include_usage}) {
    if (!r->ok()) return Fail(res, ApiError::From(r->status()));
  }
  if (*stream && body.contains("prompt_logprobs") && !body["prompt_logprobs"].is_null()) {
    return Fail(res, {400, "`prompt_logprobs` are not available when `stream=True`.",
                      "BadRequestError", "prompt_logprobs"});
  }
  // Key order matters to templates (tojson of tools): re-parse the body keeping it.
  const ordered_json ob = ordered_json::parse(req.body, nullptr, false);
  ChatTemplateRequest chat;
  chat.messages = ob["messages"];
  if (ob.contains("tools") && ob["tools"].is_array()) chat.tools = ob["tools"];
  chat.continue_final_message = *continue_final_message;
  // Continuing the last message means no new assistant turn unless asked for (vLLM).
  chat.add_generation_prompt = *add_generation_prompt && !(chat.continue_final_message &&
                                                           !body.contains("add_generation_prompt"));
  if (ob.contains("chat_template_kwargs") && ob["chat_template_kwargs"].is_object())
    chat.extra_kwargs = ob["chat_template_kwargs"];
  Result<std::string> prompt =
      RenderChat(ctx.config.chat_template, ctx.config.tokenizer_config, chat);
  if (!prompt.ok()) return Fail(res, ApiError::From(prompt.status()));
  const std::optional<Tokenizer>& tok = ctx.engine.llm().tokenizer();
  if (!tok) return Fail(res, {400, "this model has no tokenizer", "BadRequestError", ""});
  // The template already placed BOS and friends: no special tokens are added again (vLLM).
  Result<Encoding> enc = tok->Encode(*prompt, std::nullopt, /*add_special_tokens=*/false);
  if (!enc.ok()) return Fail(res, ApiError::From(enc.status()));
  Result<json> pj = SamplingJson(body, ctx.config.sampling_defaults);
  if (!pj.ok()) return Fail(res, ApiError::From(pj.status()));
  Result<SamplingParams> params = SamplingParams::FromJson(*pj);
  if (!params.ok()) return Fail(res, ApiError::From(params.status()));
  Result<std::vector<std::shared_ptr<RequestStream>>> streams =
      StartChoices(ctx.engine, {enc->ids}, *params);
  if (!streams.ok()) return Fail(res, ApiError::From(streams.status()));
  const std::string id = fmt::format("chatcmpl-{}", ctx.next_id++);
  const size_t prompt_tokens = enc->ids.size();  // once, however many choices (OpenAI, vLLM)
  const bool logprobs = params->logprobs.has_value();
  const json head = {{"id", id},
                     {"object", *stream ? "chat.completion.chunk" : "chat.completion"},
                     {"created", ctx.created},
                     {"model", model_name}};
  const LogprobsJson lp(tok);

  if (!*stream) {
    const std::vector<Choice> choices = Collect(*streams);
    json arr = json::array();
    size_t completion_tokens = 0;
    for (const Choice& c : choices) {
      completion_tokens += c.token_ids.size();
      arr.push_back(
          {{"index", c.index},
           {"message", {{"role", "assistant"}, {"content", c.text}}},
           {"logprobs", logprobs ? json{{"content", lp.ChatContent(c.samples)}} : json(nullptr)},
           {"finish_reason", FinishReasonJson(c.finish_reason)},
           {"stop_reason", nullptr}});
    }
    json out = head;
    out["choices"] = std::move(arr);
    out["usage"] = Usage(prompt_tokens, completion_tokens);
    if (params->prompt_logprobs)
      out["prompt_logprobs"] = lp.PromptLogprobs(choices[0].prompt_logprobs);
    return Reply(res, 200, out);
  }

  auto shared = std::make_shared<std::vector<std::shared_ptr<RequestStream>>>(std::move(*streams));
  AsyncEngine& engine = ctx.engine;
  StreamEvents(res, [&engine, in_flight = ctx.in_flight, shared, head, logprobs,
                     include_usage = *include_usage, prompt_tokens, lp](const SendEvent& send) {
    // As OpenAI: the first chunk of each choice carries the role.
    for (size_t i = 0; i < shared->size(); ++i) {
      json c = head;
      c["choices"] = json::array({{{"index", i},
                                   {"delta", {{"role", "assistant"}, {"content", ""}}},
                                   {"logprobs", nullptr},
                                   {"finish_reason", nullptr}}});
      if (!send(c)) break;
    }
    return ForwardChunks(
        engine, *shared, head, prompt_tokens, include_usage, send,
        [&](int index, const StreamDelta& d) {
          return json{
              {"index", index},
              {"delta", d.text.empty() ? json::object() : json{{"content", d.text}}},
              {"logprobs", logprobs ? json{{"content", lp.ChatContent(d.samples)}} : json(nullptr)},
              {"finish_reason", d.finished ? FinishReasonJson(d.finish_reason) : json(nullptr)}};
        });
  });
}

}  // namespace loom::server
