// `loom generate`: prompts through the engine, greedy or sampled, optionally with logprobs.
//   one prompt:   --prompt-ids 1,2,3 (or --prompt TEXT) with sampling flags
//   many prompts: --prompts FILE.jsonl, one {"prompt_ids": [...]} (or {"prompt": ...}) per line
//                 plus any sampling parameter by its vLLM name; all run as one concurrent batch.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <chrono>
#include <fstream>
#include <nlohmann/json.hpp>
#include <optional>

#include "cli/commands.h"
#include "cli/engine_flags.h"
#include "cli/parse_ids.h"
#include "core/threads.h"
#include "engine/llm.h"
#include "loader/hf_config.h"

namespace loom::cli {
namespace {

using nlohmann::json;

struct Options {
  std::string model;
  std::optional<std::string> prompt;
  std::optional<std::string> prompt_ids;
  std::optional<std::string> prompts_file;
  // Sampling flags; unset ones fall back to generation_config.json, then vLLM's defaults.
  std::optional<int> max_tokens;
  std::optional<double> temperature, top_p, min_p;
  std::optional<int> top_k;
  std::optional<uint64_t> seed;
  std::optional<int> logprobs, prompt_logprobs;
  bool ignore_eos = false;
  bool json = false;
  bool stats = false;
  int threads = 0;
  EngineConfig engine;
  std::string generation_config = "auto";
  std::string policy = "default";
  bool no_prefix_caching = false;
};

// Sampling defaults: vLLM's, overridden by the checkpoint's generation_config, then by flags.
json DefaultParams(const Options& o, const GenerationConfig& gen) {
  json d = SamplingDefaults(gen);
  if (o.max_tokens) d["max_tokens"] = *o.max_tokens;
  if (o.temperature) d["temperature"] = *o.temperature;
  if (o.top_p) d["top_p"] = *o.top_p;
  if (o.top_k) d["top_k"] = *o.top_k;
  if (o.min_p) d["min_p"] = *o.min_p;
  if (o.seed) d["seed"] = *o.seed;
  if (o.logprobs) d["logprobs"] = *o.logprobs;
  if (o.prompt_logprobs) d["prompt_logprobs"] = *o.prompt_logprobs;
  if (o.ignore_eos) d["ignore_eos"] = true;
  return d;
}

json LogprobsJson(const std::vector<SampleOutput>& rows) {
  json out = json::array();
  for (const SampleOutput& row : rows) {
    json r = json::array();
    for (const TokenLogprob& t : row.top) r.push_back({{"id", t.id}, {"logprob", t.logprob}});
    out.push_back(std::move(r));
  }
  return out;
}

json CompletionJson(const CompletionOutput& c, const SamplingParams& p) {
  json o;
  o["token_ids"] = c.token_ids;
  o["text"] = c.text;
  o["finish_reason"] = FinishReasonName(c.finish_reason);
  o["logprobs"] = p.logprobs ? LogprobsJson(c.samples) : json(nullptr);
  return o;
}

Status RunGenerate(Options o) {
  SetNumThreads(o.threads);
  FinishEngineFlags(o.engine, o.policy, o.no_prefix_caching);
  if (o.model.empty()) o.model = LOOM_BUILTIN_MODEL_DIR;
  const int sources = o.prompt.has_value() + o.prompt_ids.has_value() + o.prompts_file.has_value();
  if (sources != 1)
    return InvalidArgument("pass exactly one of --prompt, --prompt-ids and --prompts");
  LOOM_ASSIGN_OR_RETURN(GenerationConfig gen,
                        LoadGenerationConfigFlag(o.generation_config, o.model));
  LOOM_ASSIGN_OR_RETURN(std::unique_ptr<LLM> llm, LLM::Load(o.model, o.engine));
  const json defaults = DefaultParams(o, gen);

  std::vector<std::vector<int32_t>> prompts;
  std::vector<SamplingParams> params;
  const auto add = [&](const json& line, const std::string& where) -> Status {
    json merged = defaults;
    for (const auto& [k, v] : line.items()) {
      if (k != "prompt" && k != "prompt_ids") merged[k] = v;
    }
    Result<SamplingParams> p = SamplingParams::FromJson(merged);
    if (!p.ok()) return InvalidArgument("{}: {}", where, p.status().message());
    params.push_back(*p);
    return Status::Ok();
  };
  if (o.prompt_ids || o.prompt) {
    std::vector<int32_t> ids;
    if (o.prompt_ids) {
      LOOM_ASSIGN_OR_RETURN(ids, ParseIds(*o.prompt_ids, "--prompt-ids"));
    } else {
      LOOM_ASSIGN_OR_RETURN(ids, llm->Encode(*o.prompt));
    }
    prompts.push_back(std::move(ids));
    LOOM_RETURN_IF_ERROR(add(json::object(), "flags"));
  } else {
    std::ifstream in(*o.prompts_file);
    if (!in) return NotFound("--prompts {}: cannot open", *o.prompts_file);
    std::string line;
    for (int n = 1; std::getline(in, line); ++n) {
      if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
      const std::string where = fmt::format("{} line {}", *o.prompts_file, n);
      const json j = json::parse(line, nullptr, /*allow_exceptions=*/false);
      if (!j.is_object()) return InvalidArgument("{}: not a JSON object", where);
      std::vector<int32_t> ids;
      if (j.contains("prompt") && j["prompt"].is_string()) {
        Result<std::vector<int32_t>> enc = llm->Encode(j["prompt"].get<std::string>());
        if (!enc.ok()) return InvalidArgument("{}: {}", where, enc.status().message());
        ids = std::move(*enc);
        if (ids.empty()) return InvalidArgument("{}: the prompt is empty", where);
        prompts.push_back(std::move(ids));
        LOOM_RETURN_IF_ERROR(add(j, where));
        continue;
      }
      if (!j.contains("prompt_ids") || !j["prompt_ids"].is_array() || j["prompt_ids"].empty()) {
        return InvalidArgument(
            "{}: needs \"prompt\" (a string) or \"prompt_ids\" (a non-empty array of token ids)",
            where);
      }
      for (const json& id : j["prompt_ids"]) {
        if (!id.is_number_integer() || id.get<int64_t>() < 0 || id.get<int64_t>() > INT32_MAX) {
          return InvalidArgument("{}: prompt_ids must be non-negative integers", where);
        }
        ids.push_back(id.get<int32_t>());
      }
      prompts.push_back(std::move(ids));
      LOOM_RETURN_IF_ERROR(add(j, where));
    }
    if (prompts.empty()) return InvalidArgument("--prompts {}: no prompts", *o.prompts_file);
  }

  const auto t0 = std::chrono::steady_clock::now();
  LOOM_ASSIGN_OR_RETURN(std::vector<RequestResult> results, llm->Generate(prompts, params));
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();

  for (size_t i = 0; i < results.size(); ++i) {
    const RequestResult& r = results[i];
    if (!o.json) {
      fmt::print("{}\n", fmt::join(r.outputs[0].token_ids, ","));
      continue;
    }
    json out = CompletionJson(r.outputs[0], params[i]);
    out["prompt_logprobs"] =
        params[i].prompt_logprobs ? LogprobsJson(r.prompt_logprobs) : json(nullptr);
    if (r.outputs.size() > 1) {
      out["outputs"] = json::array();
      for (const CompletionOutput& c : r.outputs)
        out["outputs"].push_back(CompletionJson(c, params[i]));
    }
    fmt::print("{}\n", out.dump(-1, ' ', false, json::error_handler_t::replace));
  }
  if (o.stats) {
    const EngineStats s = llm->engine().stats();
    const json st = {{"prefix_cache_hits", s.prefix_hit_tokens},
                     {"prefix_cache_queries", s.prefix_query_tokens},
                     {"preemptions", s.preemptions},
                     {"steps", s.steps},
                     {"prompt_tokens", s.prompt_tokens},
                     {"generated_tokens", s.generated_tokens},
                     {"seconds", seconds},
                     {"generated_tokens_per_s", s.generated_tokens / std::max(seconds, 1e-9)}};
    fmt::print(stderr, "{}\n", st.dump());
  }
  return Status::Ok();
}

}  // namespace

void AddGenerateCommand(CLI::App& app, std::function<Status()>& run) {
  CLI::App* cmd =
      app.add_subcommand("generate", "Generate continuations of prompts through the engine");
  auto o = std::make_shared<Options>();
  cmd->add_option("--model", o->model,
                  "Hugging Face checkpoint directory (default: the built-in model)");
  cmd->add_option("--prompt", o->prompt, "Prompt text (needs tokenizer files)");
  cmd->add_option("--prompt-ids", o->prompt_ids, "Prompt token ids, comma-separated");
  cmd->add_option("--prompts", o->prompts_file,
                  "JSONL file: one prompt and its sampling parameters per line");
  cmd->add_option("--max-tokens", o->max_tokens, "Tokens to generate (default 16)");
  cmd->add_option("--temperature", o->temperature,
                  "0 = greedy (default: generation_config, else 1)");
  cmd->add_option("--top-p", o->top_p, "Nucleus sampling mass");
  cmd->add_option("--top-k", o->top_k, "Keep the k most likely tokens (0 = all)");
  cmd->add_option("--min-p", o->min_p, "Drop tokens below min_p x the top probability");
  cmd->add_option("--seed", o->seed, "Sampling seed");
  cmd->add_option("--logprobs", o->logprobs, "Top-K log-probabilities per generated token");
  cmd->add_option("--prompt-logprobs", o->prompt_logprobs,
                  "Top-K log-probabilities per prompt position after the first");
  cmd->add_flag("--ignore-eos", o->ignore_eos, "Do not stop at end-of-sequence tokens");
  cmd->add_flag("--json", o->json, "Print one JSON object per prompt");
  cmd->add_flag("--stats", o->stats, "Print engine statistics to stderr as JSON");
  cmd->add_option("--threads", o->threads, "Worker threads (default: all cores)")
      ->check(CLI::NonNegativeNumber);
  AddEngineFlags(cmd, o->engine, o->policy, o->no_prefix_caching);
  AddGenerationConfigFlag(cmd, o->generation_config);
  cmd->callback([&run, o] { run = [o] { return RunGenerate(*o); }; });
}

}  // namespace loom::cli
