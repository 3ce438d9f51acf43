// `loom bench perplexity`: perplexity of a model on a text file, as llama.cpp's llama-perplexity
// measures it: the tokenized text cut into windows of --ctx tokens, each scored on its own from
// its prompt logprobs (every token after the window's first), ppl = exp(-mean logprob).
//   loom bench perplexity --model DIR --file heldout.txt --ctx 512 [--quantization q4_0]
#include <fmt/format.h>

#include <cmath>
#include <fstream>

#include "cli/commands.h"
#include "cli/engine_flags.h"
#include "core/threads.h"
#include "engine/llm.h"

namespace loom::cli {
namespace {

struct PerplexityOptions {
  std::string model;
  std::string file;
  int64_t ctx = 512;
  int threads = 0;
  EngineConfig engine;
  std::string policy = "default";
  bool no_prefix_caching = false;
};

Status RunPerplexity(PerplexityOptions o) {
  SetNumThreads(o.threads);
  FinishEngineFlags(o.engine, o.policy, o.no_prefix_caching);
  if (o.model.empty()) o.model = LOOM_BUILTIN_MODEL_DIR;
  if (o.ctx < 2) return InvalidArgument("--ctx must be at least 2");
  std::ifstream in(o.file, std::ios::binary);
  if (!in) return NotFound("cannot read {}", o.file);
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  LOOM_ASSIGN_OR_RETURN(std::unique_ptr<LLM> llm, LLM::Load(o.model, o.engine));
  LOOM_ASSIGN_OR_RETURN(std::vector<int32_t> ids, llm->Encode(text));
  o.ctx =
      std::min<int64_t>(o.ctx, llm->engine().max_model_len() - 1);  // room for the 1 sampled token
  std::vector<std::vector<int32_t>> windows;
  for (size_t b = 0; b + 1 < ids.size(); b += static_cast<size_t>(o.ctx)) {
    windows.emplace_back(ids.begin() + b,
                         ids.begin() + std::min(ids.size(), b + static_cast<size_t>(o.ctx)));
  }
  if (windows.empty()) return InvalidArgument("{}: fewer than 2 tokens", o.file);
  // Prompt logprobs of the actual tokens (top-0: only the token's own entry is needed).
  LOOM_ASSIGN_OR_RETURN(
      SamplingParams p,
      SamplingParams::FromJson(
          {{"max_tokens", 1}, {"temperature", 0}, {"prompt_logprobs", 0}, {"ignore_eos", true}}));
  LOOM_ASSIGN_OR_RETURN(std::vector<RequestResult> results,
                        llm->Generate(windows, std::vector<SamplingParams>(windows.size(), p)));
  double sum = 0;
  int64_t count = 0;
  for (const RequestResult& r : results) {
    for (const SampleOutput& s : r.prompt_logprobs) {
      sum += s.logprob;
      ++count;
    }
  }
  const double ppl = std::exp(-sum / static_cast<double>(count));
  fmt::print("{}: {} tokens in {} windows of {}: perplexity {:.4f} (mean logprob {:.6f}){}\n",
             o.file, count, windows.size(), o.ctx, ppl, sum / static_cast<double>(count),
             o.engine.quantization.empty()
                 ? ""
                 : fmt::format(", --quantization {}", o.engine.quantization));
  return Status::Ok();
}

}  // namespace

void AddBenchPerplexityCommand(CLI::App& bench, std::function<Status()>& run) {
  CLI::App* cmd =
      bench.add_subcommand("perplexity", "Perplexity on a text file, in windows of --ctx tokens");
  auto o = std::make_shared<PerplexityOptions>();
  cmd->add_option("--model", o->model,
                  "Checkpoint directory or .gguf file (default: the built-in model)");
  cmd->add_option("--file", o->file, "Text file")->required();
  cmd->add_option("--ctx", o->ctx, "Tokens per window (capped at max_model_len)");
  cmd->add_option("--threads", o->threads, "Worker threads (default: all cores)")
      ->check(CLI::NonNegativeNumber);
  AddEngineFlags(cmd, o->engine, o->policy, o->no_prefix_caching);
  cmd->callback([&run, o] { run = [o] { return RunPerplexity(*o); }; });
}

}  // namespace loom::cli
