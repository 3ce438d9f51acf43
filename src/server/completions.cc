// POST /v1/completions (OpenAI's legacy completions with vLLM's extra parameters): prompts as a
// string, strings, token ids or lists of them; n choices each; echo; logprobs; SSE streaming.
#include <fmt/format.h>
#include <httplib.h>

#include "server/generation.h"
#include "server/handlers.h"
#include "server/http.h"
#include "server/logprobs_json.h"

namespace loom::server {
namespace {

using nlohmann::json;

struct Prompt {
  std::vector<int32_t> ids;
  std::string text;  // what echo repeats
};

Result<std::vector<Prompt>> ParsePrompts(const LLM& llm, const json& p) {
  std::vector<Prompt> prompts;
  auto add_text = [&](const json& t) -> Status {
    LOOM_ASSIGN_OR_RETURN(std::vector<int32_t> ids, llm.Encode(t.get<std::string>()));
    prompts.push_back({std::move(ids), t.get<std::string>()});
    return Status::Ok();
  };
  auto add_ids = [&](const json& ids) -> Status {
    for (const json& id : ids) {
      if (!id.is_number_integer() || id.get<int64_t>() < 0 || id.get<int64_t>() > INT32_MAX) {
        return InvalidArgument("prompt token ids must be non-negative integers");
      }
    }
    Prompt pr{ids.get<std::vector<int32_t>>(), ""};
    if (llm.tokenizer()) pr.text = llm.tokenizer()->Decode(pr.ids, false);
    prompts.push_back(std::move(pr));
    return Status::Ok();
  };
  if (p.is_string()) {
    LOOM_RETURN_IF_ERROR(add_text(p));
  } else if (p.is_array() && !p.empty() && p[0].is_number()) {
    LOOM_RETURN_IF_ERROR(add_ids(p));
  } else if (p.is_array() && !p.empty()) {
    for (const json& e : p) {
      if (e.is_string()) {
        LOOM_RETURN_IF_ERROR(add_text(e));
      } else if (e.is_array() && !e.empty()) {
        LOOM_RETURN_IF_ERROR(add_ids(e));
      } else {
        return InvalidArgument("prompt must be a string, a list of strings or token ids");
      }
    }
  } else {
    return InvalidArgument(
        "prompt must be a non-empty string, list of strings or list of token ids");
  }
  return prompts;
}

}  // namespace

void HandleCompletions(Context& ctx, const httplib::Request& req, httplib::Response& res) {
  const std::string& model_name = ctx.config.served_model_name;
  json body;
  if (!ParseBody(req, res, model_name, &body)) return;
  Result<std::vector<Prompt>> parsed = ParsePrompts(ctx.engine.llm(), body.value("prompt", json()));
  if (!parsed.ok()) return Fail(res, {400, parsed.status().message(), "BadRequestError", "prompt"});
  const std::vector<Prompt> prompts = std::move(*parsed);
  const Result<bool> stream = BoolField(body, "stream", false);
  const Result<bool> echo = BoolField(body, "echo", false);
  const Result<bool> include_usage = IncludeUsage(body, stream.ok() && *stream);
  for (const auto* r : {&stream, &echo, &include_usage}) {
    if (!r->ok()) return Fail(res, ApiError::From(r->status()));
  }
  if (*stream && body.contains("prompt_logprobs") && !body["prompt_logprobs"].is_null()) {
    return Fail(res, {400, "`prompt_logprobs` are not available when `stream=True`.",
                      "BadRequestError", "prompt_logprobs"});
  }
  json pj = body;
  if (!pj.contains("max_tokens")) pj["max_tokens"] = 16;  // OpenAI's default for completions
  pj = WithSamplingDefaults(ctx.config.sampling_defaults, std::move(pj));
  Result<SamplingParams> params = SamplingParams::FromJson(pj);
  if (!params.ok()) return Fail(res, ApiError::From(params.status()));
  const bool want_prompt_logprobs = params->prompt_logprobs.has_value();
  // Echoed logprobs need the prompt's (vLLM asks for as many as for generated tokens).
  if (*echo && params->logprobs && !params->prompt_logprobs)
    params->prompt_logprobs = params->logprobs;
  std::vector<std::vector<int32_t>> ids;
  for (const Prompt& p : prompts) ids.push_back(p.ids);
  Result<std::vector<std::shared_ptr<RequestStream>>> streams =
      StartChoices(ctx.engine, ids, *params);
  if (!streams.ok()) return Fail(res, ApiError::From(streams.status()));
  const std::string id = fmt::format("cmpl-{}", ctx.next_id++);
  const int n = std::max(1, params->n);
  size_t prompt_tokens = 0;
  for (const Prompt& p : prompts) prompt_tokens += p.ids.size();  // once per prompt, not per choice
  const bool logprobs = params->logprobs.has_value();
  const json head = {
      {"id", id}, {"object", "text_completion"}, {"created", ctx.created}, {"model", model_name}};
  const LogprobsJson lp(ctx.engine.llm().tokenizer());

  if (!*stream) {
    const std::vector<Choice> choices = Collect(*streams);
    json arr = json::array();
    size_t completion_tokens = 0;
    for (const Choice& c : choices) {
      const Prompt& prompt = prompts[c.index / n];
      completion_tokens += c.token_ids.size();
      json lps = nullptr;
      if (logprobs) {
        lps = LogprobsJson::EmptyCompletion();
        size_t offset = 0;
        if (*echo) lp.AppendCompletionPrompt(prompt.ids, c.prompt_logprobs, &lps, &offset);
        lp.AppendCompletion(c.samples, &lps, &offset);
      }
      json choice = {{"index", c.index},
                     {"text", (*echo ? prompt.text : "") + c.text},
                     {"logprobs", lps},
                     {"finish_reason", FinishReasonJson(c.finish_reason)},
                     {"stop_reason", nullptr}};
      if (want_prompt_logprobs) choice["prompt_logprobs"] = lp.PromptLogprobs(c.prompt_logprobs);
      arr.push_back(std::move(choice));
    }
    json out = head;
    out["choices"] = std::move(arr);
    out["usage"] = Usage(prompt_tokens, completion_tokens);
    return Reply(res, 200, out);
  }

  auto shared = std::make_shared<std::vector<std::shared_ptr<RequestStream>>>(std::move(*streams));
  AsyncEngine& engine = ctx.engine;
  StreamEvents(res, [&engine, in_flight = ctx.in_flight, shared, head, prompts, n, echo = *echo,
                     logprobs, include_usage = *include_usage, prompt_tokens,
                     lp](const SendEvent& send) {
    std::vector<size_t> offsets(shared->size(), 0);  // text_offset of each choice
    std::vector<bool> started(shared->size(), false);
    return ForwardChunks(
        engine, *shared, head, prompt_tokens, include_usage, send,
        [&](int index, const StreamDelta& d) {
          const Prompt& prompt = prompts[index / n];
          std::string text = d.text;
          json lps = nullptr;
          if (logprobs) lps = LogprobsJson::EmptyCompletion();
          if (echo && !started[index]) {  // the first chunk of a choice repeats its prompt
            text = prompt.text + text;
            if (logprobs)
              lp.AppendCompletionPrompt(prompt.ids, d.prompt_logprobs, &lps, &offsets[index]);
          }
          started[index] = true;
          if (logprobs) lp.AppendCompletion(d.samples, &lps, &offsets[index]);
          return json{
              {"index", index},
              {"text", text},
              {"logprobs", lps},
              {"finish_reason", d.finished ? FinishReasonJson(d.finish_reason) : json(nullptr)}};
        });
  });
}

}  // namespace loom::server
