// The engine end to end on a real (tiny, f32) checkpoint: batching, chunked prefill, prefix
// caching and preemption never change what a request generates.
#include <gtest/gtest.h>

#include "engine/llm.h"
#include "models/registry.h"
#include "test_util.h"

namespace loom {
namespace {

std::unique_ptr<LLM> MakeLLM(EngineConfig ec) {
  Result<std::unique_ptr<Model>> model = LoadModel(testing::ModelsDir() / "llama-gqa-f32");
  EXPECT_TRUE(model.ok()) << model.status().message();
  if (ec.max_model_len == 0) ec.max_model_len = 512;
  if (ec.kv_cache_memory == 0) ec.kv_cache_memory = 64 << 20;
  Result<std::unique_ptr<EngineCore>> engine = EngineCore::Create(std::move(*model), ec);
  EXPECT_TRUE(engine.ok()) << engine.status().message();
  return std::make_unique<LLM>(std::move(*engine), std::vector<int32_t>{});
}

std::vector<int32_t> Prompt(int len, int seed) {
  std::vector<int32_t> p(len);
  for (int i = 0; i < len; ++i) p[i] = 3 + (i * 131 + seed * 71 + (i * i) % 17) % 250;
  return p;
}

SamplingParams Greedy(int max_tokens) {
  return *SamplingParams::FromJson({{"temperature", 0}, {"max_tokens", max_tokens}, {"ignore_eos", true}});
}

std::vector<std::vector<int32_t>> Tokens(const std::vector<RequestResult>& r) {
  std::vector<std::vector<int32_t>> out;
  for (const RequestResult& x : r) out.push_back(x.outputs[0].token_ids);
  return out;
}

std::vector<std::vector<int32_t>> Generated(LLM& llm, const std::vector<std::vector<int32_t>>& prompts,
                                      const std::vector<SamplingParams>& params) {
  Result<std::vector<RequestResult>> r = llm.Generate(prompts, params);
  EXPECT_TRUE(r.ok()) << r.status().message();
  return r.ok() ? Tokens(*r) : std::vector<std::vector<int32_t>>{};
}

TEST(Engine, BatchInvariance) {
  std::vector<std::vector<int32_t>> prompts;
  for (int i = 0; i < 16; ++i) prompts.push_back(Prompt(1 + i * 20 - (i == 15 ? 1 : 0), i));  // lengths 1..300
  auto llm = MakeLLM({});
  const auto together = Generated(*llm, prompts, {Greedy(16)});
  ASSERT_EQ(together.size(), 16u);
  for (size_t i = 0; i < prompts.size(); ++i) {
    auto alone = MakeLLM({});
    EXPECT_EQ(Generated(*alone, {prompts[i]}, {Greedy(16)})[0], together[i]) << "prompt " << i;
  }
}

TEST(Engine, ChunkedPrefillGivesTheSameTokens) {
  std::vector<std::vector<int32_t>> prompts;
  for (int i = 0; i < 6; ++i) prompts.push_back(Prompt(40 + i * 45, 100 + i));
  EngineConfig whole;
  whole.max_num_batched_tokens = 8192;
  const auto reference = Generated(*MakeLLM(whole), prompts, {Greedy(12)});
  for (int budget : {7, 64, 2048}) {
    EngineConfig ec;
    ec.max_num_batched_tokens = budget;
    EXPECT_EQ(Generated(*MakeLLM(ec), prompts, {Greedy(12)}), reference) << "budget " << budget;
  }
}

TEST(Engine, PrefixCachingHitsAndKeepsOutputs) {
  const std::vector<int32_t> prefix = Prompt(200, 7);
  std::vector<std::vector<int32_t>> prompts;
  for (int i = 0; i < 8; ++i) {
    std::vector<int32_t> p = prefix;
    for (int j = 0; j < 5; ++j) p.push_back(10 + i * 5 + j);
    prompts.push_back(p);
  }
  EngineConfig off;
  off.enable_prefix_caching = false;
  const auto uncached = Generated(*MakeLLM(off), prompts, {Greedy(8)});

  auto llm = MakeLLM({});
  EXPECT_EQ(Generated(*llm, {prompts[0]}, {Greedy(8)})[0], uncached[0]);  // fills the cache
  const EngineStats before = llm->engine().stats();
  EXPECT_EQ(Generated(*llm, prompts, {Greedy(8)}), uncached);  // the repeats
  const EngineStats after = llm->engine().stats();
  const double hit_rate = static_cast<double>(after.prefix_hit_tokens - before.prefix_hit_tokens) /
                          (after.prefix_query_tokens - before.prefix_query_tokens);
  std::printf("prefix cache hit rate on repeats: %.3f\n", hit_rate);
  EXPECT_GT(hit_rate, 0.9);
}

TEST(Engine, PreemptionLosesNothing) {
  std::vector<std::vector<int32_t>> prompts;
  for (int i = 0; i < 32; ++i) prompts.push_back(Prompt(5 + (i * 13) % 60, 200 + i));
  const auto reference = Generated(*MakeLLM({}), prompts, {Greedy(24)});
  EngineConfig tiny;
  // 12 blocks of 16 tokens: a few requests at a time, growing until someone is preempted.
  tiny.kv_cache_memory = 12 * 16 * (2 * 2 * 2 * 16 * 4);  // blocks * tokens * (layers * K,V * kv_heads * head_dim * f32)
  tiny.enable_prefix_caching = false;
  auto llm = MakeLLM(tiny);
  ASSERT_EQ(llm->engine().num_blocks(), 12);
  EXPECT_EQ(Generated(*llm, prompts, {Greedy(24)}), reference);
  std::printf("preemptions: %lld\n", static_cast<long long>(llm->engine().stats().preemptions));
  EXPECT_GT(llm->engine().stats().preemptions, 0);
}

TEST(Engine, SeededSamplingIsReproducibleInAnyBatch) {
  SamplingParams seeded = *SamplingParams::FromJson({{"temperature", 0.9}, {"top_p", 0.95}, {"seed", 1234}, {"max_tokens", 12}, {"ignore_eos", true}});
  SamplingParams other = *SamplingParams::FromJson({{"temperature", 1.0}, {"max_tokens", 7}, {"ignore_eos", true}});
  const std::vector<int32_t> p = Prompt(30, 5);
  const auto alone = Generated(*MakeLLM({}), {p}, {seeded});
  std::vector<std::vector<int32_t>> mix = {Prompt(50, 1), p, Prompt(3, 2), Prompt(90, 3)};
  const auto batched = Generated(*MakeLLM({}), mix, {other, seeded, other, other});
  EXPECT_EQ(batched[1], alone[0]);
  // n = 2 with a seed: the two samples differ but each is reproducible.
  SamplingParams two = seeded;
  two.n = 2;
  Result<std::vector<RequestResult>> a = MakeLLM({})->Generate({p}, {two});
  Result<std::vector<RequestResult>> b = MakeLLM({})->Generate({Prompt(9, 9), p}, {other, two});
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ((*a)[0].outputs[0].token_ids, alone[0]);
  EXPECT_EQ((*a)[0].outputs[1].token_ids, (*b)[1].outputs[1].token_ids);
  EXPECT_NE((*a)[0].outputs[0].token_ids, (*a)[0].outputs[1].token_ids);
}

TEST(Engine, PromptLogprobsOfBatchedRequestsEqualEachAlone) {
  // Several requests finishing their prompts in one step interleave prompt rows and sampled rows
  // in the logits; each prompt position must still read its own row.
  const std::vector<std::vector<int32_t>> prompts = {Prompt(20, 1), Prompt(33, 2), Prompt(7, 3)};
  SamplingParams p = Greedy(2);
  p.prompt_logprobs = 2;
  Result<std::vector<RequestResult>> batched = MakeLLM({})->Generate(prompts, {p, p, p});
  ASSERT_TRUE(batched.ok()) << batched.status().message();
  for (size_t i = 0; i < prompts.size(); ++i) {
    Result<std::vector<RequestResult>> alone = MakeLLM({})->Generate({prompts[i]}, {p});
    ASSERT_TRUE(alone.ok());
    const auto& a = (*alone)[0].prompt_logprobs;
    const auto& b = (*batched)[i].prompt_logprobs;
    ASSERT_EQ(a.size(), prompts[i].size() - 1);
    ASSERT_EQ(b.size(), a.size());
    for (size_t t = 0; t < a.size(); ++t) {
      EXPECT_EQ(b[t].token, prompts[i][t + 1]);
      EXPECT_NEAR(b[t].logprob, a[t].logprob, 1e-5) << "prompt " << i << " position " << t;
      EXPECT_EQ(b[t].rank, a[t].rank);
    }
  }
}

TEST(Engine, RejectsBadRequestsWithoutDisturbingOthers) {
  auto llm = MakeLLM({});
  Result<std::vector<RequestResult>> r = llm->Generate({Prompt(10, 1), {1, 999}}, {Greedy(4)});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("prompt 1"), std::string::npos) << r.status().message();
  EXPECT_FALSE(llm->engine().HasUnfinished());  // the valid one was withdrawn too
  r = llm->Generate({Prompt(500, 1)}, {Greedy(100)});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("maximum context length"), std::string::npos);
  EXPECT_EQ(Generated(*llm, {Prompt(10, 1)}, {Greedy(4)}).size(), 1u);
}

}  // namespace
}  // namespace loom
