#include "engine/generate.h"

#include <span>

#include "kernels/kernels.h"

namespace loom {
namespace {

Status Validate(const Model& model, const GenerateRequest& r) {
  if (r.prompt_ids.empty()) return InvalidArgument("the prompt is empty");
  if (r.max_tokens < 0) return InvalidArgument("max_tokens must be >= 0, got {}", r.max_tokens);
  if (r.temperature < 0) return InvalidArgument("temperature must be >= 0, got {}", r.temperature);
  const int64_t vocab = model.config().vocab_size;
  if (r.logprobs > vocab || r.prompt_logprobs > vocab) {
    return InvalidArgument("logprobs must be <= the vocabulary size {}", vocab);
  }
  for (int32_t id : r.prompt_ids) {
    if (id < 0 || id >= vocab)
      return InvalidArgument("prompt token id {} is out of range [0, {})", id, vocab);
  }
  return Status::Ok();
}

}  // namespace

Result<Tensor> PromptLogprobs(Model& model, const std::vector<int32_t>& prompt_ids) {
  const int64_t n = static_cast<int64_t>(prompt_ids.size());
  KvCache cache = model.NewCache(n);
  LOOM_ASSIGN_OR_RETURN(Tensor hidden, model.Forward(prompt_ids, cache));
  Tensor logits = model.ComputeLogits(hidden);  // f32 [n, vocab]
  kernels::LogSoftmax(logits.data<float>(), logits.data<float>(), n, logits.dim(1));
  return logits;
}

Result<GenerateResult> Generate(Model& model, const GenerateRequest& r) {
  LOOM_RETURN_IF_ERROR(Validate(model, r));
  const int64_t vocab = model.config().vocab_size;
  const int64_t prompt_len = static_cast<int64_t>(r.prompt_ids.size());
  KvCache cache = model.NewCache(prompt_len + r.max_tokens);
  GenerateResult out;
  out.finish_reason = "length";
  std::mt19937_64 rng(r.seed);

  // Prefill: logits of every prompt position only when prompt logprobs are asked for.
  LOOM_ASSIGN_OR_RETURN(Tensor hidden, model.Forward(r.prompt_ids, cache));
  Tensor logits;  // f32 [rows, vocab]
  if (r.prompt_logprobs >= 0) {
    logits = model.ComputeLogits(hidden);
    for (int64_t t = 0; t + 1 < prompt_len; ++t) {
      const std::vector<float> lp =
          LogSoftmax(std::span<const float>(logits.data<float>() + t * vocab, vocab));
      out.prompt_logprobs.push_back(TopK(lp, r.prompt_logprobs));
    }
    logits = logits.Rows(prompt_len - 1, prompt_len);
  } else {
    logits = model.ComputeLogits(hidden.Rows(prompt_len - 1, prompt_len));
  }

  for (int step = 0; step < r.max_tokens; ++step) {
    const std::span<const float> row(logits.data<float>(), vocab);
    const int32_t token = SampleToken(row, r.temperature, rng);
    const std::vector<float> lp = LogSoftmax(row);
    out.token_ids.push_back(token);
    out.token_logprobs.push_back(lp[token]);
    if (r.logprobs > 0) out.logprobs.push_back(TopK(lp, r.logprobs));
    if (std::find(r.stop_token_ids.begin(), r.stop_token_ids.end(), token) !=
        r.stop_token_ids.end()) {
      out.finish_reason = "stop";
      break;
    }
    if (step + 1 == r.max_tokens) break;
    const int32_t next[1] = {token};
    LOOM_ASSIGN_OR_RETURN(hidden, model.Forward(next, cache));
    logits = model.ComputeLogits(hidden);
  }
  return out;
}

}  // namespace loom
