// Runs a loaded model against a tools/reference golden.json (prompt logprobs of every vocabulary
// entry at every position, 32 greedy tokens and their logprobs) and checks it within `tol`.
// Shared by model_golden_test (float checkpoints) and quant_checkpoint_test (GPTQ / AWQ).
#pragma once

#include <gtest/gtest.h>

#include <cmath>
#include <memory>
#include <string>

#include "engine/llm.h"
#include "models/weights.h"
#include "test_util.h"

namespace loom::testing {

// The references compute in f32: load with --dtype float32, not "auto", which at avx512bf16 rounds
// activations as llama.cpp does (kernels::Activations).
inline const LoadOptions kF32Activations{.quantization = std::nullopt,
                                         .activations = kernels::Activations::kF32};

inline void ExpectMatchesGolden(std::unique_ptr<Model> model, const nlohmann::json& golden,
                                double tol, const std::string& name) {
  EngineConfig ec;
  ec.max_model_len = 64;  // prompt + 32 tokens, even where max_position_embeddings is small
  ec.kv_cache_memory = 8 << 20;
  ec.kv_cache_dtype = "f32";  // the reference keeps K/V in f32; "auto" would store bf16/f16 ones
  Result<std::unique_ptr<EngineCore>> engine = EngineCore::Create(std::move(model), ec);
  ASSERT_TRUE(engine.ok()) << engine.status().message();
  LLM llm(std::move(*engine), {});
  const int64_t vocab = golden["prompt_logprobs"][0].size();
  // Prompt logprobs: ask for all `vocab` of them, i.e. the full distribution of each position.
  const std::vector<int32_t> prompt = golden["prompt_ids"].get<std::vector<int32_t>>();
  SamplingParams p = *SamplingParams::FromJson({{"temperature", 0},
                                                {"max_tokens", 32},
                                                {"ignore_eos", true},
                                                {"logprobs", 1},
                                                {"prompt_logprobs", vocab}});
  Result<std::vector<RequestResult>> r = llm.Generate({prompt}, {p});
  ASSERT_TRUE(r.ok()) << r.status().message();
  const RequestResult& res = (*r)[0];
  const auto& want = golden["prompt_logprobs"];
  // The engine reports positions 1..P-1 (row t predicts token t + 1): golden rows 0..P-2.
  ASSERT_EQ(res.prompt_logprobs.size() + 1, want.size());
  double max_diff = 0;
  for (size_t t = 0; t < res.prompt_logprobs.size(); ++t) {
    ASSERT_EQ(static_cast<int64_t>(res.prompt_logprobs[t].top.size()), vocab);
    EXPECT_EQ(res.prompt_logprobs[t].token, prompt[t + 1]);
    EXPECT_NEAR(res.prompt_logprobs[t].logprob, want[t][prompt[t + 1]].get<double>(), tol);
    for (const TokenLogprob& e : res.prompt_logprobs[t].top) {
      max_diff = std::max(max_diff, std::abs(e.logprob - want[t][e.id].get<double>()));
    }
  }
  EXPECT_LE(max_diff, tol) << name;
  std::printf("[ %s ] prompt logprobs max abs diff %.3g (tolerance %.0e)\n", name.c_str(), max_diff,
              tol);

  // 32 greedy tokens, and the logprob of each.
  const CompletionOutput& out = res.outputs[0];
  EXPECT_EQ(out.token_ids, golden["greedy_ids"].get<std::vector<int32_t>>());
  const auto want_lp = golden["greedy_logprobs"].get<std::vector<double>>();
  ASSERT_EQ(out.samples.size(), want_lp.size());
  for (size_t i = 0; i < want_lp.size(); ++i)
    EXPECT_NEAR(out.samples[i].logprob, want_lp[i], tol) << "step " << i;
}

// A test-parameter string as a gtest name: anything but letters and digits becomes '_'.
inline std::string ParamName(std::string s) {
  for (char& c : s) {
    if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
  }
  return s;
}

}  // namespace loom::testing
