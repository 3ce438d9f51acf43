#include "server/logprobs_json.h"

#include <fmt/format.h>

#include <algorithm>

#include "tokenizer/unicode.h"

namespace loom::server {

using nlohmann::json;

namespace {

// OpenAI's floor: JSON has no -inf (vLLM clamps the same way).
double Clamp(float logprob) { return std::max(static_cast<double>(logprob), -9999.0); }

json Bytes(const std::string& s) {
  json b = json::array();
  for (char c : s) b.push_back(static_cast<unsigned char>(c));
  return b;
}

}  // namespace

std::string LogprobsJson::Token(int32_t id) const {
  if (!tokenizer_) return fmt::format("token_id:{}", id);
  const int32_t ids[] = {id};
  // A byte-level token may be part of a character: U+FFFD stands for it, as in vLLM's strings.
  std::string text;
  tok::AppendUtf8Lossy(text, tokenizer_->Decode(ids, /*skip_special_tokens=*/false));
  return text;
}

json LogprobsJson::ChatContent(std::span<const SampleOutput> samples) const {
  json content = json::array();
  for (const SampleOutput& s : samples) {
    const std::string token = Token(s.token);
    json top = json::array();
    for (const TokenLogprob& t : s.top) {
      const std::string tt = Token(t.id);
      top.push_back({{"token", tt}, {"logprob", Clamp(t.logprob)}, {"bytes", Bytes(tt)}});
    }
    content.push_back({{"token", token},
                       {"logprob", Clamp(s.logprob)},
                       {"bytes", Bytes(token)},
                       {"top_logprobs", top}});
  }
  return content;
}

json LogprobsJson::EmptyCompletion() {
  return {{"tokens", json::array()},
          {"token_logprobs", json::array()},
          {"top_logprobs", json::array()},
          {"text_offset", json::array()}};
}

void LogprobsJson::AppendCompletion(std::span<const SampleOutput> samples, json* logprobs,
                                    size_t* offset) const {
  for (const SampleOutput& s : samples) {
    const std::string token = Token(s.token);
    json top = json::object();
    for (const TokenLogprob& t : s.top) top[Token(t.id)] = Clamp(t.logprob);
    top[token] = Clamp(s.logprob);
    (*logprobs)["tokens"].push_back(token);
    (*logprobs)["token_logprobs"].push_back(Clamp(s.logprob));
    (*logprobs)["top_logprobs"].push_back(std::move(top));
    (*logprobs)["text_offset"].push_back(*offset);
    *offset += tok::CountCodePoints(token);
  }
}

void LogprobsJson::AppendCompletionPrompt(std::span<const int32_t> prompt,
                                          std::span<const SampleOutput> prompt_logprobs,
                                          json* logprobs, size_t* offset) const {
  if (prompt.empty()) return;
  const std::string first = Token(prompt[0]);
  (*logprobs)["tokens"].push_back(first);
  (*logprobs)["token_logprobs"].push_back(nullptr);
  (*logprobs)["top_logprobs"].push_back(nullptr);
  (*logprobs)["text_offset"].push_back(*offset);
  *offset += tok::CountCodePoints(first);
  AppendCompletion(prompt_logprobs, logprobs, offset);
}

json LogprobsJson::PromptLogprobs(std::span<const SampleOutput> prompt_logprobs) const {
  json out = json::array({nullptr});
  for (const SampleOutput& s : prompt_logprobs) {
    json position = json::object();
    for (size_t r = 0; r < s.top.size(); ++r) {  // the top-K, most likely first: rank r + 1
      const TokenLogprob& t = s.top[r];
      position[std::to_string(t.id)] = {
          {"logprob", Clamp(t.logprob)}, {"rank", r + 1}, {"decoded_token", Token(t.id)}};
    }
    position[std::to_string(s.token)] = {
        {"logprob", Clamp(s.logprob)}, {"rank", s.rank}, {"decoded_token", Token(s.token)}};
    out.push_back(std::move(position));
  }
  return out;
}

}  // namespace loom::server
