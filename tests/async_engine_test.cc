// The streaming request API: concurrent producers, streamed deltas equal the offline result,
// abort frees the request at once without disturbing others.
#include "engine/async_engine.h"

#include <gtest/gtest.h>

#include <thread>

#include "models/registry.h"
#include "test_util.h"

namespace loom {
namespace {

std::unique_ptr<LLM> MakeLLM(int max_num_seqs = 64) {
  Result<std::unique_ptr<Model>> model = LoadModel(testing::ModelsDir() / "llama-gqa-f32");
  EXPECT_TRUE(model.ok());
  EngineConfig ec;
  ec.max_model_len = 16384;      // room for a request long enough to be aborted mid-way
  ec.kv_cache_memory = 8 << 20;  // 16,384 tokens of KV
  ec.max_num_seqs = max_num_seqs;
  Result<std::unique_ptr<EngineCore>> engine = EngineCore::Create(std::move(*model), ec);
  EXPECT_TRUE(engine.ok());
  return std::make_unique<LLM>(std::move(*engine), std::vector<int32_t>{});
}

std::vector<int32_t> Prompt(int len, int seed) {
  std::vector<int32_t> p(len);
  for (int i = 0; i < len; ++i) p[i] = 3 + (i * 37 + seed * 11) % 250;
  return p;
}

SamplingParams Greedy(int max_tokens) {
  return *SamplingParams::FromJson(
      {{"temperature", 0}, {"max_tokens", max_tokens}, {"ignore_eos", true}});
}

std::vector<int32_t> Drain(RequestStream& s, FinishReason* reason = nullptr) {
  std::vector<int32_t> ids;
  while (std::optional<StreamDelta> d = s.Next()) {
    ids.insert(ids.end(), d->token_ids.begin(), d->token_ids.end());
    if (d->finished && reason) *reason = d->finish_reason;
  }
  return ids;
}

TEST(AsyncEngine, ConcurrentStreamsMatchOfflineResults) {
  std::vector<std::vector<int32_t>> prompts;
  for (int i = 0; i < 8; ++i) prompts.push_back(Prompt(5 + i * 9, i));
  Result<std::vector<RequestResult>> offline = MakeLLM()->Generate(prompts, {Greedy(20)});
  ASSERT_TRUE(offline.ok());

  AsyncEngine engine(MakeLLM());
  std::vector<std::vector<int32_t>> streamed(prompts.size());
  std::vector<std::thread> clients;
  for (size_t i = 0; i < prompts.size(); ++i) {
    clients.emplace_back([&, i] {
      Result<std::shared_ptr<RequestStream>> s = engine.Add(prompts[i], Greedy(20));
      ASSERT_TRUE(s.ok());
      streamed[i] = Drain(**s);
    });
  }
  for (std::thread& t : clients) t.join();
  for (size_t i = 0; i < prompts.size(); ++i)
    EXPECT_EQ(streamed[i], (*offline)[i].outputs[0].token_ids) << i;
}

TEST(AsyncEngine, AbortFreesTheRequestAndSparesOthers) {
  const std::vector<int32_t> other = Prompt(40, 3);
  Result<std::vector<RequestResult>> offline = MakeLLM()->Generate({other}, {Greedy(30)});
  ASSERT_TRUE(offline.ok());

  AsyncEngine engine(MakeLLM());
  // 16,000 tokens take seconds; the abort lands after a handful.
  Result<std::shared_ptr<RequestStream>> victim = engine.Add(Prompt(100, 1), Greedy(16000));
  Result<std::shared_ptr<RequestStream>> keeper = engine.Add(other, Greedy(30));
  ASSERT_TRUE(victim.ok() && keeper.ok());
  for (int i = 0; i < 3; ++i) ASSERT_TRUE((*victim)->Next().has_value());
  engine.Abort((*victim)->id());
  FinishReason reason = FinishReason::kNone;
  const std::vector<int32_t> rest = Drain(**victim, &reason);
  EXPECT_EQ(reason, FinishReason::kAbort);
  EXPECT_LT(rest.size(), 16000u);
  EXPECT_EQ(Drain(**keeper), (*offline)[0].outputs[0].token_ids);
  // Everything both held is free again (the counters are refreshed after each engine step).
  const int64_t total = engine.llm().engine().num_blocks();
  for (int i = 0; i < 200 && engine.stats().free_blocks != total; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  EXPECT_EQ(engine.stats().free_blocks, total);
}

TEST(AsyncEngine, BadRequestsFailAloneAndAtOnce) {
  AsyncEngine engine(MakeLLM());
  Result<std::shared_ptr<RequestStream>> good = engine.Add(Prompt(10, 1), Greedy(10));
  ASSERT_TRUE(good.ok());
  Result<std::shared_ptr<RequestStream>> bad = engine.Add({1, 100000}, Greedy(10));
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("100000"), std::string::npos);
  SamplingParams hot = Greedy(10);
  hot.temperature = -1;
  EXPECT_FALSE(engine.Add(Prompt(10, 1), hot).ok());
  EXPECT_EQ(Drain(**good).size(), 10u);
}

TEST(AsyncEngine, ShutdownEndsOpenStreams) {
  std::shared_ptr<RequestStream> s;
  {
    AsyncEngine engine(MakeLLM());
    s = *engine.Add(Prompt(10, 1), Greedy(400));
  }
  FinishReason reason = FinishReason::kNone;
  Drain(*s, &reason);
  EXPECT_TRUE(reason == FinishReason::kAbort || reason == FinishReason::kLength);
}

TEST(AsyncEngine, QueueLimitRefusesWithUnavailable) {
  AsyncEngine engine(MakeLLM(/*max_num_seqs=*/1), /*max_queued_requests=*/1);
  std::shared_ptr<RequestStream> running = *engine.Add(Prompt(10, 1), Greedy(4000));
  ASSERT_TRUE(running->Next());  // it runs: nothing waits
  Result<std::shared_ptr<RequestStream>> waiting = engine.Add(Prompt(10, 2), Greedy(4));
  ASSERT_TRUE(waiting.ok()) << waiting.status().message();
  Result<std::shared_ptr<RequestStream>> refused = engine.Add(Prompt(10, 3), Greedy(4));
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(refused.status().message().find("overloaded"), std::string::npos);
  engine.Abort(running->id());
  Drain(*running);
  EXPECT_EQ(Drain(**waiting).size(), 4u);  // the queued request was unharmed
  Result<std::shared_ptr<RequestStream>> later = engine.Add(Prompt(10, 3), Greedy(4));
  ASSERT_TRUE(later.ok());
  EXPECT_EQ(Drain(**later).size(), 4u);
}

TEST(AsyncEngine, AbortAllEndsEveryRequestAndRecordsLatencies) {
  AsyncEngine engine(MakeLLM());
  std::shared_ptr<RequestStream> done = *engine.Add(Prompt(10, 1), Greedy(3));
  EXPECT_EQ(Drain(*done).size(), 3u);
  std::vector<std::shared_ptr<RequestStream>> streams;
  for (int i = 0; i < 3; ++i) streams.push_back(*engine.Add(Prompt(10, i), Greedy(4000)));
  EXPECT_FALSE(engine.Idle());
  engine.AbortAll();
  for (auto& s : streams) {
    FinishReason reason = FinishReason::kNone;
    Drain(*s, &reason);
    EXPECT_EQ(reason, FinishReason::kAbort);
  }
  for (int i = 0; i < 100 && !engine.Idle(); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  EXPECT_TRUE(engine.Idle());
  EXPECT_EQ(engine.stats().free_blocks, engine.stats().total_blocks);
  const ServingMetrics m = engine.metrics();
  EXPECT_EQ(m.requests_finished.at("length"), 1);
  EXPECT_EQ(m.requests_finished.at("abort"), 3);
  EXPECT_EQ(m.e2e_request_latency.count, 1u);  // aborted requests have no end-to-end latency
  // The finished request: one first token, two gaps; aborted ones may have produced some too.
  EXPECT_GE(m.time_to_first_token.count, 1u);
  EXPECT_GE(m.inter_token_latency.count, 2u);
  EXPECT_GT(m.e2e_request_latency.sum, 0.0);
}

}  // namespace
}  // namespace loom
