// The offline API (vLLM's `LLM`): many prompts with their sampling parameters in, one result per
// prompt out, in input order. All prompts run concurrently through one EngineCore.
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "engine/engine_core.h"
#include "tokenizer/tokenizer.h"

namespace loom {

struct CompletionOutput {
  std::vector<int32_t> token_ids;
  std::string text;                   // "" when the checkpoint has no tokenizer
  std::vector<SampleOutput> samples;  // per token: logprob, rank, top-K
  FinishReason finish_reason = FinishReason::kNone;
};

struct RequestResult {
  std::vector<CompletionOutput> outputs;      // params.n of them
  std::vector<SampleOutput> prompt_logprobs;  // prompt tokens 1..
};

std::string_view FinishReasonName(FinishReason r);  // "stop", "length", "abort"

class LLM {
 public:
  // Loads the checkpoint in `dir`, a Hugging Face directory (with its tokenizer when
  // tokenizer.json is there) or a .gguf file (tokenizer from its metadata). EOS ids come from
  // generation_config.json, else config.json; for GGUF files, llama.cpp's end-of-generation set.
  static Result<std::unique_ptr<LLM>> Load(const std::filesystem::path& dir,
                                           const EngineConfig& config);
  LLM(std::unique_ptr<EngineCore> engine, std::vector<int32_t> eos_token_ids,
      std::optional<Tokenizer> tokenizer = std::nullopt)
      : engine_(std::move(engine)),
        eos_(std::move(eos_token_ids)),
        tokenizer_(std::move(tokenizer)) {}

  // Text -> prompt ids with the special tokens the tokenizer config adds (as vLLM completions).
  Result<std::vector<int32_t>> Encode(const std::string& text) const;

  // params.size() == prompts.size(), or 1 (shared by all prompts). Bad parameters or prompts fail
  // the whole call before anything runs, naming the prompt's index.
  Result<std::vector<RequestResult>> Generate(const std::vector<std::vector<int32_t>>& prompts,
                                              const std::vector<SamplingParams>& params);

  EngineCore& engine() { return *engine_; }
  const std::vector<int32_t>& eos_token_ids() const { return eos_; }
  const std::optional<Tokenizer>& tokenizer() const { return tokenizer_; }
  // tokenizer_config.json (special tokens, chat_template); empty when there is none.
  const nlohmann::ordered_json& tokenizer_config() const { return tokenizer_config_; }
  // bad_words as token-id sequences (needs the tokenizer when there are any).
  Result<std::vector<std::vector<int32_t>>> BadWordsIds(const SamplingParams& p) const;

 private:
  std::unique_ptr<EngineCore> engine_;

  std::vector<int32_t> eos_;
  std::optional<Tokenizer> tokenizer_;
  nlohmann::ordered_json tokenizer_config_ = nlohmann::ordered_json::object();
  uint64_t next_id_ = 0;
};

}  // namespace loom
