#include "engine/llm.h"

#include <fmt/format.h>

#include <map>

#include "engine/output_processor.h"
#include "models/registry.h"
#include "tokenizer/model_tokenizer.h"

namespace loom {

std::string_view FinishReasonName(FinishReason r) {
  switch (r) {
    case FinishReason::kStop:
      return "stop";
    case FinishReason::kLength:
      return "length";
    case FinishReason::kAbort:
      return "abort";
    case FinishReason::kNone:
      return "";
  }
  return "";
}

Result<std::unique_ptr<LLM>> LLM::Load(const std::filesystem::path& dir,
                                       const EngineConfig& config) {
  LoadOptions options;
  if (!config.quantization.empty()) {
    const std::map<std::string, DType> methods = {
        {"q8_0", DType::kQ8_0}, {"q4_0", DType::kQ4_0}, {"q4_k", DType::kQ4_K}};
    const auto it = methods.find(config.quantization);
    if (it == methods.end()) {
      return InvalidArgument(
          "--quantization must be q8_0, q4_0 or q4_k, got '{}' (GGUF files and GPTQ/AWQ "
          "checkpoints "
          "carry their own)",
          config.quantization);
    }
    options.quantization = it->second;
  }
  if (config.dtype == "float32" || config.dtype == "float") {
    options.activations = kernels::Activations::kF32;
  } else if (config.dtype != "auto") {
    return InvalidArgument("--dtype must be auto or float32, got '{}'", config.dtype);
  }
  LOOM_ASSIGN_OR_RETURN(std::unique_ptr<Model> model, LoadModel(dir, options));
  LOOM_ASSIGN_OR_RETURN(GenerationConfig gen, LoadGenerationConfig(dir));
  const std::vector<int64_t>& eos64 =
      gen.eos_token_ids.empty() ? model->config().eos_token_ids : gen.eos_token_ids;
  std::vector<int32_t> eos(eos64.begin(), eos64.end());
  LOOM_ASSIGN_OR_RETURN(ModelTokenizer tok, LoadModelTokenizer(dir));
  if (!tok.eog_ids.empty()) eos = tok.eog_ids;  // GGUF: stop where llama.cpp stops
  if (eos.empty() && tok.tokenizer && tok.tokenizer->EosTokenId())
    eos.push_back(*tok.tokenizer->EosTokenId());
  LOOM_ASSIGN_OR_RETURN(std::unique_ptr<EngineCore> engine,
                        EngineCore::Create(std::move(model), config));
  auto llm = std::make_unique<LLM>(std::move(engine), std::move(eos), std::move(tok.tokenizer));
  llm->tokenizer_config_ = std::move(tok.config);
  return llm;
}

Result<std::vector<int32_t>> LLM::Encode(const std::string& text) const {
  if (!tokenizer_)
    return InvalidArgument("this checkpoint has no tokenizer.json; pass token ids instead of text");
  LOOM_ASSIGN_OR_RETURN(Encoding e,
                        tokenizer_->Encode(text, std::nullopt, /*add_special_tokens=*/true));
  return e.ids;
}

// As vLLM: each bad word is banned both as written and, when that makes a different first
// token of the same length, with a leading space (mid-sentence form).
Result<std::vector<std::vector<int32_t>>> LLM::BadWordsIds(const SamplingParams& p) const {
  std::vector<std::vector<int32_t>> out;
  if (p.bad_words.empty()) return out;
  if (!tokenizer_) return InvalidArgument("bad_words needs the checkpoint's tokenizer");
  for (const std::string& word : p.bad_words) {
    const std::string bare = word.substr(std::min(word.find_first_not_of(' '), word.size()));
    LOOM_ASSIGN_OR_RETURN(Encoding plain, tokenizer_->Encode(bare, std::nullopt, false));
    LOOM_ASSIGN_OR_RETURN(Encoding spaced, tokenizer_->Encode(" " + bare, std::nullopt, false));
    if (plain.ids.empty()) continue;
    out.push_back(plain.ids);
    if (!spaced.ids.empty() && spaced.ids[0] != plain.ids[0] &&
        spaced.ids.size() == plain.ids.size()) {
      out.push_back(spaced.ids);
    }
  }
  return out;
}

Result<std::vector<RequestResult>> LLM::Generate(const std::vector<std::vector<int32_t>>& prompts,
                                                 const std::vector<SamplingParams>& params) {
  if (params.size() != prompts.size() && params.size() != 1) {
    return InvalidArgument("{} sampling parameter sets for {} prompts", params.size(),
                           prompts.size());
  }
  // Each of a prompt's n samples is its own engine request (they share the prompt's cached
  // blocks); a seeded request gives sample k the seed + k.
  struct Child {
    size_t prompt;
    int sample;
  };
  std::map<std::string, Child> children;
  std::vector<RequestResult> results(prompts.size());
  std::vector<std::string> added;
  OutputProcessor detok(tokenizer_);
  for (size_t i = 0; i < prompts.size(); ++i) {
    const SamplingParams& p = params.size() == 1 ? params[0] : params[i];
    results[i].outputs.resize(std::max(1, p.n));
    for (int k = 0; k < std::max(1, p.n); ++k) {
      EngineRequest r;
      r.id = fmt::format("offline-{}", next_id_++);
      r.prompt_ids = prompts[i];
      r.params = p;
      if (p.seed) r.params.seed = *p.seed + k;      // as MakeGenerator(params, k)
      if (k > 0) r.params.prompt_logprobs.reset();  // reported once per prompt
      r.eos_token_ids = eos_;
      Result<std::vector<std::vector<int32_t>>> bad = BadWordsIds(p);
      Status s = bad.ok() ? Status::Ok() : bad.status();
      if (s.ok()) {
        r.bad_words_ids = std::move(*bad);
        s = engine_->AddRequest(r);
      }
      if (!s.ok()) {
        for (const std::string& id : added) engine_->Abort(id);
        return Status(s.code(), fmt::format("prompt {}: {}", i, s.message()));
      }
      added.push_back(r.id);
      children[r.id] = {i, k};
      detok.Add(r.id, r.params, r.prompt_ids);
    }
  }
  size_t remaining = children.size();
  while (remaining > 0) {
    if (!engine_->HasUnfinished())
      return Internal("the engine stopped with {} requests unfinished", remaining);
    LOOM_ASSIGN_OR_RETURN(std::vector<RequestOutput> step, engine_->Step());
    for (RequestOutput& o : step) {
      const Child c = children.at(o.id);
      CompletionOutput& out = results[c.prompt].outputs[c.sample];
      out.token_ids.insert(out.token_ids.end(), o.new_token_ids.begin(), o.new_token_ids.end());
      out.samples.insert(out.samples.end(), o.new_samples.begin(), o.new_samples.end());
      if (!o.prompt_logprobs.empty())
        results[c.prompt].prompt_logprobs = std::move(o.prompt_logprobs);
      out.text += detok.Process(o, *engine_);
      if (o.finished) {
        out.finish_reason = o.finish_reason;
        --remaining;
      }
    }
  }
  return results;
}

}  // namespace loom
