#include "engine/sampling/sampling_params.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <limits>
#include <nlohmann/json.hpp>
#include <span>

#include "core/logging.h"

namespace loom {
namespace {

using nlohmann::json;

// Python's repr of a float, so messages read like vLLM's ("got -1.0", not "got -1").
std::string PyFloat(double v) {
  std::string s = fmt::format("{}", v);
  if (std::isfinite(v) && s.find_first_of(".e") == std::string::npos) s += ".0";
  return s;
}

template <typename T>
std::string PyList(const std::vector<T>& v) {
  std::string s = "[";
  for (size_t i = 0; i < v.size(); ++i) {
    if (i) s += ", ";
    if constexpr (std::is_same_v<T, std::string>) {
      s += "'" + v[i] + "'";
    } else {
      s += fmt::format("{}", v[i]);
    }
  }
  return s + "]";
}

bool IsNumber(const json& v) { return v.is_number() && !v.is_boolean(); }

// An integral JSON number (2 or 2.0, as pydantic's lax mode accepts) within int64.
std::optional<int64_t> AsInt64(const json& v) {
  if (v.is_number_integer()) return v.get<int64_t>();
  if (v.is_number_unsigned()) {
    const uint64_t u = v.get<uint64_t>();
    if (u > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) return std::nullopt;
    return static_cast<int64_t>(u);
  }
  if (v.is_number_float()) {
    const double d = v.get<double>();
    if (std::isfinite(d) && d == std::floor(d) && std::abs(d) < 9.2e18) {
      return static_cast<int64_t>(d);
    }
  }
  return std::nullopt;
}

Status TypeError(const char* field, const char* want, const json& got) {
  return InvalidArgument("{} must be {}, got {}", field, want, got.type_name());
}

// Each reader leaves `out` untouched when the key is absent or null.
Status ReadDouble(const json& j, const char* field, double& out) {
  auto it = j.find(field);
  if (it == j.end() || it->is_null()) return Status::Ok();
  if (!IsNumber(*it)) return TypeError(field, "a number", *it);
  out = it->get<double>();
  return Status::Ok();
}

Status ReadInt(const json& j, const char* field, int& out) {
  auto it = j.find(field);
  if (it == j.end() || it->is_null()) return Status::Ok();
  const std::optional<int64_t> v = AsInt64(*it);
  if (!v) return TypeError(field, "an integer", *it);
  if (*v < std::numeric_limits<int>::min() || *v > std::numeric_limits<int>::max()) {
    return InvalidArgument("{} is out of range, got {}", field, *v);
  }
  out = static_cast<int>(*v);
  return Status::Ok();
}

Status ReadOptInt(const json& j, const char* field, std::optional<int>& out) {
  auto it = j.find(field);
  if (it == j.end()) return Status::Ok();
  if (it->is_null()) {
    out.reset();
    return Status::Ok();
  }
  int v = 0;
  LOOM_RETURN_IF_ERROR(ReadInt(j, field, v));
  out = v;
  return Status::Ok();
}

// logprobs / prompt_logprobs: an integer, or a bool (true = 1 as vLLM; false = unset).
Status ReadLogprobs(const json& j, const char* field, std::optional<int>& out) {
  auto it = j.find(field);
  if (it != j.end() && it->is_boolean()) {
    out = it->get<bool>() ? std::optional<int>(1) : std::nullopt;
    return Status::Ok();
  }
  return ReadOptInt(j, field, out);
}

Status ReadBool(const json& j, const char* field, bool& out) {
  auto it = j.find(field);
  if (it == j.end() || it->is_null()) return Status::Ok();
  if (!it->is_boolean()) return TypeError(field, "a boolean", *it);
  out = it->get<bool>();
  return Status::Ok();
}

Result<int32_t> TokenId(const json& v, const char* field) {
  const std::optional<int64_t> id = AsInt64(v);
  if (!id) return InvalidArgument("{} must contain only integers, got {}", field, v.dump());
  if (*id < std::numeric_limits<int32_t>::min() || *id > std::numeric_limits<int32_t>::max()) {
    return InvalidArgument("{} contains out-of-vocab token id {}", field, *id);
  }
  return static_cast<int32_t>(*id);
}

Status ReadTokenIds(const json& j, const char* field, std::vector<int32_t>& out) {
  auto it = j.find(field);
  if (it == j.end() || it->is_null()) return Status::Ok();
  if (!it->is_array()) return TypeError(field, "a list of integer token ids", *it);
  out.clear();
  for (const json& e : *it) {
    LOOM_ASSIGN_OR_RETURN(const int32_t id, TokenId(e, field));
    out.push_back(id);
  }
  return Status::Ok();
}

// A string or a list of strings (`stop`), or only a list (`bad_words`).
Status ReadStrings(const json& j, const char* field, bool allow_single,
                   std::vector<std::string>& out) {
  auto it = j.find(field);
  if (it == j.end() || it->is_null()) return Status::Ok();
  out.clear();
  if (allow_single && it->is_string()) {
    out.push_back(it->get<std::string>());
    return Status::Ok();
  }
  const char* want = allow_single ? "a string or a list of strings" : "a list of strings";
  if (!it->is_array()) return TypeError(field, want, *it);
  for (const json& e : *it) {
    if (!e.is_string()) return TypeError(field, want, e);
    out.push_back(e.get<std::string>());
  }
  return Status::Ok();
}

Status ReadLogitBias(const json& j, std::map<int32_t, float>& out) {
  auto it = j.find("logit_bias");
  if (it == j.end() || it->is_null()) return Status::Ok();
  if (!it->is_object()) return TypeError("logit_bias", "an object of token id -> bias", *it);
  out.clear();
  std::vector<std::string> bad_keys;
  for (const auto& [key, value] : it->items()) {
    int64_t id = 0;
    const char* end = key.data() + key.size();
    auto [ptr, ec] = std::from_chars(key.data(), end, id);
    if (key.empty() || ec != std::errc() || ptr != end ||
        id < std::numeric_limits<int32_t>::min() || id > std::numeric_limits<int32_t>::max()) {
      bad_keys.push_back(key);
      continue;
    }
    if (!IsNumber(value)) return TypeError("logit_bias values", "numbers", value);
    out[static_cast<int32_t>(id)] = std::clamp(value.get<float>(), -kMaxLogitBias, kMaxLogitBias);
  }
  if (!bad_keys.empty()) {
    return InvalidArgument(
        "logit_bias contains key(s) that cannot be converted to integer token IDs: {}",
        PyList(bad_keys));
  }
  return Status::Ok();
}

template <typename T>
void Dedupe(std::vector<T>& v) {
  std::vector<T> out;
  for (const T& x : v) {
    if (std::find(out.begin(), out.end(), x) == out.end()) out.push_back(x);
  }
  v = std::move(out);
}

// vLLM's error text for token ids outside [0, vocab_size).
Status CheckVocab(std::span<const int32_t> ids, const char* field, int64_t vocab_size) {
  std::vector<int32_t> bad;
  for (int32_t id : ids) {
    if (id < 0 || id >= vocab_size) bad.push_back(id);
  }
  if (bad.empty()) return Status::Ok();
  return InvalidArgument("token_id(s) {} in {} contain out-of-vocab token ids. Vocabulary size: {}",
                         PyList(bad), field, vocab_size);
}

}  // namespace

Result<SamplingParams> SamplingParams::FromJson(const json& j) {
  if (!j.is_object()) return InvalidArgument("sampling parameters must be a JSON object");
  SamplingParams p;
  LOOM_RETURN_IF_ERROR(ReadInt(j, "n", p.n));
  LOOM_RETURN_IF_ERROR(ReadOptInt(j, "best_of", p.best_of));
  LOOM_RETURN_IF_ERROR(ReadDouble(j, "presence_penalty", p.presence_penalty));
  LOOM_RETURN_IF_ERROR(ReadDouble(j, "frequency_penalty", p.frequency_penalty));
  LOOM_RETURN_IF_ERROR(ReadDouble(j, "repetition_penalty", p.repetition_penalty));
  LOOM_RETURN_IF_ERROR(ReadDouble(j, "temperature", p.temperature));
  LOOM_RETURN_IF_ERROR(ReadDouble(j, "top_p", p.top_p));
  LOOM_RETURN_IF_ERROR(ReadInt(j, "top_k", p.top_k));
  LOOM_RETURN_IF_ERROR(ReadDouble(j, "min_p", p.min_p));
  if (auto it = j.find("seed"); it != j.end() && !it->is_null()) {
    const std::optional<int64_t> seed = AsInt64(*it);
    if (!seed) return TypeError("seed", "an integer", *it);
    if (*seed != -1) p.seed = *seed;  // vLLM: -1 means "no seed"
  }
  LOOM_RETURN_IF_ERROR(ReadStrings(j, "stop", /*allow_single=*/true, p.stop));
  LOOM_RETURN_IF_ERROR(ReadTokenIds(j, "stop_token_ids", p.stop_token_ids));
  LOOM_RETURN_IF_ERROR(ReadBool(j, "ignore_eos", p.ignore_eos));
  LOOM_RETURN_IF_ERROR(ReadOptInt(j, "max_tokens", p.max_tokens));
  LOOM_RETURN_IF_ERROR(ReadInt(j, "min_tokens", p.min_tokens));
  LOOM_RETURN_IF_ERROR(ReadLogprobs(j, "logprobs", p.logprobs));
  LOOM_RETURN_IF_ERROR(ReadLogprobs(j, "prompt_logprobs", p.prompt_logprobs));
  LOOM_RETURN_IF_ERROR(ReadLogitBias(j, p.logit_bias));
  if (auto it = j.find("allowed_token_ids"); it != j.end() && !it->is_null()) {
    std::vector<int32_t> ids;
    LOOM_RETURN_IF_ERROR(ReadTokenIds(j, "allowed_token_ids", ids));
    p.allowed_token_ids = std::move(ids);
  }
  LOOM_RETURN_IF_ERROR(ReadStrings(j, "bad_words", /*allow_single=*/false, p.bad_words));
  LOOM_RETURN_IF_ERROR(ReadBool(j, "include_stop_str_in_output", p.include_stop_str_in_output));
  LOOM_RETURN_IF_ERROR(ReadBool(j, "skip_special_tokens", p.skip_special_tokens));
  LOOM_RETURN_IF_ERROR(
      ReadBool(j, "spaces_between_special_tokens", p.spaces_between_special_tokens));

  if (p.temperature > 0 && p.temperature < kMinRandomTemperature) {
    LOOM_LOG_WARN(
        "temperature {} is less than {}, which may cause numerical errors nan or inf "
        "in tensors. We have maxed it out to {}.",
        p.temperature, kMinRandomTemperature, kMinRandomTemperature);
    p.temperature = kMinRandomTemperature;
  }
  Dedupe(p.stop_token_ids);
  Dedupe(p.bad_words);
  return p;
}

Status SamplingParams::Validate(int64_t vocab_size) const {
  if (n < 1) return InvalidArgument("n must be at least 1, got {}.", n);
  if (best_of) {
    if (*best_of < n) {
      return InvalidArgument("best_of must be greater than or equal to n, got n={} and best_of={}.",
                             n, *best_of);
    }
    if (*best_of > n) {
      return Unimplemented(
          "best_of > n is not supported (got n={} and best_of={}); vLLM V1 "
          "does not support best_of either",
          n, *best_of);
    }
  }
  if (!(presence_penalty >= -2.0 && presence_penalty <= 2.0)) {
    return InvalidArgument("presence_penalty must be in [-2, 2], got {}.",
                           PyFloat(presence_penalty));
  }
  if (!(frequency_penalty >= -2.0 && frequency_penalty <= 2.0)) {
    return InvalidArgument("frequency_penalty must be in [-2, 2], got {}.",
                           PyFloat(frequency_penalty));
  }
  if (!std::isfinite(repetition_penalty)) {
    return InvalidArgument("repetition_penalty must be a finite number, got {}.",
                           PyFloat(repetition_penalty));
  }
  if (repetition_penalty <= 0.0) {
    return InvalidArgument("repetition_penalty must be greater than zero, got {}.",
                           PyFloat(repetition_penalty));
  }
  if (!std::isfinite(temperature)) {
    return InvalidArgument("temperature must be a finite number, got {}.", PyFloat(temperature));
  }
  if (temperature < 0.0) {
    return InvalidArgument("temperature must be non-negative, got {}.", PyFloat(temperature));
  }
  if (temperature > 2.0) {
    return InvalidArgument("temperature must be in [0, 2], got {}.", PyFloat(temperature));
  }
  if (!(top_p > 0.0 && top_p <= 1.0)) {
    return InvalidArgument("top_p must be in (0, 1], got {}.", PyFloat(top_p));
  }
  if (top_k < -1) {  // vLLM quietly accepts -1 as "disabled" but documents 0
    return InvalidArgument("top_k must be 0 (disable), or at least 1, got {}.", top_k);
  }
  if (!(min_p >= 0.0 && min_p <= 1.0)) {
    return InvalidArgument("min_p must be in [0, 1], got {}.", PyFloat(min_p));
  }
  if (max_tokens && *max_tokens < 1) {
    return InvalidArgument("max_tokens must be at least 1, got {}.", *max_tokens);
  }
  if (min_tokens < 0) {
    return InvalidArgument("min_tokens must be greater than or equal to 0, got {}.", min_tokens);
  }
  if (max_tokens && min_tokens > *max_tokens) {
    return InvalidArgument("min_tokens must be less than or equal to max_tokens={}, got {}.",
                           *max_tokens, min_tokens);
  }
  if (logprobs && *logprobs != -1 && *logprobs < 0) {
    return InvalidArgument("logprobs must be non-negative or -1, got {}.", *logprobs);
  }
  if (prompt_logprobs && *prompt_logprobs != -1 && *prompt_logprobs < 0) {
    return InvalidArgument("prompt_logprobs must be non-negative or -1, got {}.", *prompt_logprobs);
  }
  if (std::any_of(stop.begin(), stop.end(), [](const std::string& s) { return s.empty(); })) {
    return InvalidArgument("stop cannot contain an empty string.");
  }
  if (std::any_of(bad_words.begin(), bad_words.end(),
                  [](const std::string& s) { return s.empty(); })) {
    return InvalidArgument("bad_words cannot contain an empty string. Got bad_words={}",
                           PyList(bad_words));
  }
  if (IsGreedy() && n > 1) {
    return InvalidArgument("n must be 1 when using greedy sampling, got {}.", n);
  }

  // SamplingParams.verify: checks against the model.
  if (logprobs && *logprobs > vocab_size) {
    return InvalidArgument("Requested sample logprobs of {}, which is greater than max allowed: {}",
                           *logprobs, vocab_size);
  }
  if (prompt_logprobs && *prompt_logprobs > vocab_size) {
    return InvalidArgument("Requested prompt_logprobs of {}, which is greater than max allowed: {}",
                           *prompt_logprobs, vocab_size);
  }
  std::vector<int32_t> bias_ids;
  for (const auto& [id, bias] : logit_bias) bias_ids.push_back(id);
  LOOM_RETURN_IF_ERROR(CheckVocab(bias_ids, "logit_bias", vocab_size));
  LOOM_RETURN_IF_ERROR(CheckVocab(stop_token_ids, "stop_token_ids", vocab_size));
  if (allowed_token_ids) {
    if (allowed_token_ids->empty()) {
      return InvalidArgument("allowed_token_ids is not None and empty!");
    }
    LOOM_RETURN_IF_ERROR(CheckVocab(*allowed_token_ids, "allowed_token_ids", vocab_size));
  }
  return Status::Ok();
}

json SamplingDefaults(const GenerationConfig& gen) {
  json d = json::object();
  if (gen.temperature) d["temperature"] = *gen.temperature;
  if (gen.top_p) d["top_p"] = *gen.top_p;
  if (gen.top_k) d["top_k"] = *gen.top_k;
  if (gen.min_p) d["min_p"] = *gen.min_p;
  if (gen.repetition_penalty) d["repetition_penalty"] = *gen.repetition_penalty;
  if (gen.max_new_tokens) d["max_tokens"] = *gen.max_new_tokens;
  return d;
}

json WithSamplingDefaults(const json& defaults, json request) {
  for (const auto& [key, value] : defaults.items()) {
    json& field = request[key];
    if (field.is_null()) {
      field = value;
    } else if (key == "max_tokens" && field.is_number_integer()) {
      field = std::min(field.get<int64_t>(), value.get<int64_t>());
    }
  }
  return request;
}

}  // namespace loom
