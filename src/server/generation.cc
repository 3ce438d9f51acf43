#include "server/generation.h"

#include <thread>

namespace loom::server {

Result<std::vector<std::shared_ptr<RequestStream>>> StartChoices(
    AsyncEngine& engine, const std::vector<std::vector<int32_t>>& prompts,
    const SamplingParams& params) {
  std::vector<std::shared_ptr<RequestStream>> streams;
  const int n = std::max(1, params.n);
  for (const std::vector<int32_t>& prompt : prompts) {
    for (int k = 0; k < n; ++k) {
      SamplingParams p = params;
      p.n = 1;
      if (params.seed) p.seed = *params.seed + k;
      Result<std::shared_ptr<RequestStream>> s = engine.Add(prompt, p);
      if (!s.ok()) {
        for (const auto& started : streams) engine.Abort(started->id());
        return s.status();
      }
      streams.push_back(*s);
    }
  }
  return streams;
}

std::vector<Choice> Collect(const std::vector<std::shared_ptr<RequestStream>>& streams) {
  std::vector<Choice> choices(streams.size());
  for (size_t i = 0; i < streams.size(); ++i) {
    Choice& c = choices[i];
    c.index = static_cast<int>(i);
    while (std::optional<StreamDelta> d = streams[i]->Next()) {
      c.token_ids.insert(c.token_ids.end(), d->token_ids.begin(), d->token_ids.end());
      c.samples.insert(c.samples.end(), d->samples.begin(), d->samples.end());
      if (!d->prompt_logprobs.empty()) c.prompt_logprobs = std::move(d->prompt_logprobs);
      c.text += d->text;
      if (d->finished) {
        c.finish_reason = d->finish_reason;
        c.error = d->error;
      }
    }
  }
  return choices;
}

bool Forward(AsyncEngine& engine, const std::vector<std::shared_ptr<RequestStream>>& streams,
             const std::function<bool(int, const StreamDelta&)>& emit) {
  // One thread per stream would be simpler but costs threads; streams are read in turn, each
  // Next() blocking only until that stream's next delta, which every engine step produces.
  std::vector<bool> done(streams.size(), false);
  size_t remaining = streams.size();
  while (remaining > 0) {
    for (size_t i = 0; i < streams.size(); ++i) {
      if (done[i]) continue;
      std::optional<StreamDelta> d = streams[i]->Next();
      if (!d || d->finished) {
        done[i] = true;
        --remaining;
      }
      if (d && !emit(static_cast<int>(i), *d)) {
        for (size_t j = 0; j < streams.size(); ++j) {
          if (!done[j]) engine.Abort(streams[j]->id());
        }
        for (size_t j = 0; j < streams.size(); ++j) {
          while (!done[j] && streams[j]->Next()) {
          }
        }
        return false;
      }
    }
  }
  return true;
}

bool ForwardChunks(AsyncEngine& engine, const std::vector<std::shared_ptr<RequestStream>>& streams,
                   const nlohmann::json& head, size_t prompt_tokens, bool include_usage,
                   const SendEvent& send,
                   const std::function<nlohmann::json(int, const StreamDelta&)>& choice) {
  size_t completion_tokens = 0;
  const bool ok = Forward(engine, streams, [&](int index, const StreamDelta& d) {
    completion_tokens += d.token_ids.size();
    nlohmann::json chunk = head;
    chunk["choices"] = nlohmann::json::array({choice(index, d)});
    return send(chunk);
  });
  if (ok && include_usage) {
    nlohmann::json u = head;
    u["choices"] = nlohmann::json::array();
    u["usage"] = Usage(prompt_tokens, completion_tokens);
    send(u);
  }
  return ok;
}

}  // namespace loom::server
