// `loom generate`: one prompt through a checkpoint, greedy or sampled, optionally with logprobs.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <nlohmann/json.hpp>
#include <optional>

#include "cli/commands.h"
#include "core/threads.h"
#include "engine/generate.h"
#include "models/registry.h"

namespace loom::cli {
namespace {

struct Options {
  std::string model;
  std::optional<std::string> prompt;
  std::optional<std::string> prompt_ids;
  int max_tokens = 16;
  std::optional<float> temperature;
  uint64_t seed = 0;
  int logprobs = 0;
  int prompt_logprobs = -1;
  bool json = false;
  bool ignore_eos = false;
  int threads = 0;
};

Result<std::vector<int32_t>> ParseIds(const std::string& s) {
  std::vector<int32_t> ids;
  size_t pos = 0;
  while (pos <= s.size()) {
    const size_t comma = std::min(s.find(',', pos), s.size());
    const std::string item = s.substr(pos, comma - pos);
    size_t used = 0;
    long long v = -1;
    try {
      v = std::stoll(item, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used == 0 || used != item.size() || v < 0 || v > INT32_MAX) {
      return InvalidArgument("--prompt-ids: '{}' is not a token id (expected e.g. 1,2,3)", item);
    }
    ids.push_back(static_cast<int32_t>(v));
    pos = comma + 1;
  }
  return ids;
}

nlohmann::ordered_json LogprobsJson(const std::vector<std::vector<TokenLogprob>>& rows) {
  nlohmann::ordered_json out = nlohmann::ordered_json::array();
  for (const auto& row : rows) {
    nlohmann::ordered_json r = nlohmann::ordered_json::array();
    for (const TokenLogprob& t : row) r.push_back({{"id", t.id}, {"logprob", t.logprob}});
    out.push_back(std::move(r));
  }
  return out;
}

Status RunGenerate(const Options& o) {
  SetNumThreads(o.threads);
  if (o.prompt.has_value() == o.prompt_ids.has_value()) {
    return InvalidArgument("pass exactly one of --prompt and --prompt-ids");
  }
  if (o.prompt) {
    return Unimplemented(
        "--prompt needs a tokenizer, which this build of Loom cannot load yet; use --prompt-ids");
  }
  GenerateRequest req;
  LOOM_ASSIGN_OR_RETURN(req.prompt_ids, ParseIds(*o.prompt_ids));
  LOOM_ASSIGN_OR_RETURN(std::unique_ptr<Model> model, LoadModel(o.model));
  LOOM_ASSIGN_OR_RETURN(GenerationConfig gen, LoadGenerationConfig(o.model));
  req.max_tokens = o.max_tokens;
  // As vLLM: the checkpoint's generation_config supplies defaults the user did not set.
  req.temperature = o.temperature.value_or(static_cast<float>(gen.temperature.value_or(1.0)));
  req.seed = o.seed;
  req.logprobs = o.logprobs;
  req.prompt_logprobs = o.prompt_logprobs;
  if (!o.ignore_eos) {
    const auto& eos = gen.eos_token_ids.empty() ? model->config().eos_token_ids : gen.eos_token_ids;
    for (int64_t id : eos) req.stop_token_ids.push_back(static_cast<int32_t>(id));
  }
  LOOM_ASSIGN_OR_RETURN(GenerateResult r, Generate(*model, req));

  if (!o.json) {
    fmt::print("{}\n", fmt::join(r.token_ids, ","));
    return Status::Ok();
  }
  nlohmann::ordered_json out;
  out["token_ids"] = r.token_ids;
  out["text"] = "";  // no tokenizer is loaded yet
  out["finish_reason"] = r.finish_reason;
  out["logprobs"] = o.logprobs > 0 ? LogprobsJson(r.logprobs) : nlohmann::ordered_json(nullptr);
  out["prompt_logprobs"] =
      o.prompt_logprobs >= 0 ? LogprobsJson(r.prompt_logprobs) : nlohmann::ordered_json(nullptr);
  fmt::print("{}\n", out.dump());
  return Status::Ok();
}

}  // namespace

void AddGenerateCommand(CLI::App& app, std::function<Status()>& run) {
  CLI::App* cmd = app.add_subcommand("generate", "Generate a continuation of one prompt");
  auto o = std::make_shared<Options>();
  cmd->add_option("--model", o->model, "Hugging Face checkpoint directory")->required();
  cmd->add_option("--prompt", o->prompt, "Prompt text (needs tokenizer files)");
  cmd->add_option("--prompt-ids", o->prompt_ids, "Prompt token ids, comma-separated");
  cmd->add_option("--max-tokens", o->max_tokens, "Tokens to generate")
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--temperature", o->temperature,
                  "0 = greedy (default: generation_config, else 1)")
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--seed", o->seed, "Sampling seed");
  cmd->add_option("--logprobs", o->logprobs, "Top-K log-probabilities per generated token")
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--prompt-logprobs", o->prompt_logprobs,
                  "Top-K log-probabilities per prompt position after the first")
      ->check(CLI::NonNegativeNumber);
  cmd->add_flag("--json", o->json, "Print one JSON object");
  cmd->add_flag("--ignore-eos", o->ignore_eos, "Do not stop at end-of-sequence tokens");
  cmd->add_option("--threads", o->threads, "Worker threads (default: all cores)")
      ->check(CLI::NonNegativeNumber);
  cmd->callback([&run, o] { run = [o] { return RunGenerate(*o); }; });
}

}  // namespace loom::cli
