// Loom's Llama-family forward against the independent PyTorch reference (tools/reference):
// prompt log-probabilities within 1e-4 (f32 compute noise), and 32 greedy tokens identical.
#include <gtest/gtest.h>

#include <cmath>

#include "engine/llm.h"
#include "models/registry.h"
#include "test_util.h"

namespace loom {
namespace {

namespace fs = std::filesystem;

std::vector<std::string> GoldenModels() {
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(testing::ModelsDir()))
    names.push_back(e.path().filename());
  std::sort(names.begin(), names.end());
  return names;
}

class GoldenTest : public ::testing::TestWithParam<std::string> {};

TEST_P(GoldenTest, PromptLogprobsAndGreedyTokensMatchReference) {
  const fs::path dir = testing::ModelsDir() / GetParam();
  const nlohmann::json golden = testing::ReadJson(dir / "golden.json");
  Result<std::unique_ptr<Model>> model = LoadModel(dir);
  ASSERT_TRUE(model.ok()) << model.status().message();

  // The goldens compute in f32 with half-precision weights upcast exactly, as Loom does, so every
  // checkpoint must agree to f32 rounding noise: the reference's own f32-vs-f64 gap is 2-4e-5.
  // (The issue allows 3e-2 for bf16; an HF pure-bf16 forward differs from f32 by ~0.5 on these
  // peaky logits, so bf16 *activations* would need a different golden.)
  const double tol = 1e-4;

  // Both runs go through the engine: a 64-token context covers prompt + 32 tokens even where
  // config.json's max_position_embeddings is deliberately small (dynamic NTK).
  EngineConfig ec;
  ec.max_model_len = 64;
  ec.kv_cache_memory = 8 << 20;
  ec.kv_cache_dtype = "f32";  // the reference keeps K/V in f32; "auto" would store bf16/f16 ones
  Result<std::unique_ptr<EngineCore>> engine = EngineCore::Create(std::move(*model), ec);
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
  EXPECT_LE(max_diff, tol) << GetParam();
  std::printf("[ %s ] prompt logprobs max abs diff %.3g (tolerance %.0e)\n", GetParam().c_str(),
              max_diff, tol);

  // 32 greedy tokens, and the logprob of each.
  const CompletionOutput& out = res.outputs[0];
  EXPECT_EQ(out.token_ids, golden["greedy_ids"].get<std::vector<int32_t>>());
  const auto want_lp = golden["greedy_logprobs"].get<std::vector<double>>();
  ASSERT_EQ(out.samples.size(), want_lp.size());
  for (size_t i = 0; i < want_lp.size(); ++i)
    EXPECT_NEAR(out.samples[i].logprob, want_lp[i], tol) << "step " << i;
}

INSTANTIATE_TEST_SUITE_P(Reference, GoldenTest, ::testing::ValuesIn(GoldenModels()),
                         [](const auto& info) {
                           std::string n = info.param;
                           for (char& c : n)
                             if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
                           return n;
                         });

TEST(Golden, CoversEveryArchitectureAndFeature) {
  // The list: each architecture, GQA, llama3 and yarn rope, a window shorter than the
  // prompt, tied embeddings, f32 and bf16 weights.
  std::set<std::string> archs, dtypes, ropes;
  bool gqa = false, tied = false, window = false, sharded = false;
  for (const std::string& name : GoldenModels()) {
    const fs::path dir = testing::ModelsDir() / name;
    Result<ModelConfig> c = LoadModelConfig(dir);
    ASSERT_TRUE(c.ok());
    archs.insert(c->architectures[0]);
    dtypes.insert(c->raw["torch_dtype"]);
    ropes.insert(c->rope_scaling.type);
    gqa |= c->num_key_value_heads < c->num_attention_heads;
    tied |= c->tie_word_embeddings;
    window |= c->architectures[0] == "MistralForCausalLM" && c->sliding_window > 0 &&
              c->sliding_window <
                  static_cast<int64_t>(testing::ReadJson(dir / "golden.json")["prompt_ids"].size());
    sharded |= fs::exists(dir / "model.safetensors.index.json");
  }
  EXPECT_EQ(archs, (std::set<std::string>{"LlamaForCausalLM", "MistralForCausalLM",
                                          "Qwen2ForCausalLM", "Qwen3ForCausalLM"}));
  EXPECT_TRUE(dtypes.count("float32") && dtypes.count("bfloat16"));
  for (const char* r : {"default", "linear", "dynamic", "llama3", "yarn"})
    EXPECT_TRUE(ropes.count(r)) << r;
  EXPECT_TRUE(gqa && tied && window && sharded);
}

}  // namespace
}  // namespace loom
