// The cache pools and the scheduler, driven without a model. A fake runner writes each
// scheduled token into the slots its block table names and "samples" from what it reads back,
// so wrong block tables, a bad prefix-cache hit or a lost token change the outputs.
#include <gtest/gtest.h>

#include <map>

#include "models/cache_spec.h"
#include "engine/cache/state_pool.h"
#include "engine/sched/scheduler.h"

namespace loom {
namespace {

TEST(BlockPool, RefCountsAndLruEviction) {
  BlockPool pool(4, /*enable_caching=*/true);
  auto a = *pool.Allocate(2);
  EXPECT_EQ(pool.NumFree(), 2);
  EXPECT_FALSE(pool.Allocate(3).has_value());
  EXPECT_EQ(pool.NumFree(), 2);  // a failed allocation changes nothing
  const BlockHash h0 = HashBlock({}, std::vector<int32_t>{1, 2});
  const BlockHash h1 = HashBlock(h0, std::vector<int32_t>{3, 4});
  pool.Cache(a[0], h0);
  pool.Cache(a[1], h1);
  pool.Free(std::vector<int>{a[1], a[0]});  // tail first
  EXPECT_EQ(pool.NumFree(), 4);
  EXPECT_EQ(pool.Lookup(h0), a[0]);
  // Uncached free blocks go out first; then the least recently freed cached one (a[1]).
  auto b = *pool.Allocate(3);
  EXPECT_EQ(b[2], a[1]);
  EXPECT_FALSE(pool.Lookup(h1).has_value());
  EXPECT_EQ(pool.Lookup(h0), a[0]);
  pool.Touch(std::vector<int>{a[0]});
  EXPECT_EQ(pool.RefCount(a[0]), 1);
  EXPECT_EQ(pool.NumFree(), 0);
}

TEST(BlockPool, HashChainsOverParentAndExtraKeys) {
  const std::vector<int32_t> t = {5, 6, 7};
  const uint64_t lora[] = {42};
  EXPECT_EQ(HashBlock({}, t), HashBlock({}, t));
  EXPECT_FALSE(HashBlock({}, t) == HashBlock({1, 0}, t));
  EXPECT_FALSE(HashBlock({}, t) == HashBlock({}, t, lora));
}

TEST(CacheSpec, PoolsForAttentionRecurrentAndHybridLayouts) {
  LayerCacheSpec attn{CacheKind::kFullAttention, 2, 64, DType::kBF16};
  LayerCacheSpec window{CacheKind::kSlidingWindow, 2, 64, DType::kF32, 128};
  LayerCacheSpec mamba{CacheKind::kRecurrentState, 0, 0, DType::kF32, 0, {3, 128}, {16, 128}};
  LayerCacheSpec none{};
  PoolPlan dense = PlanPools({attn, attn});
  EXPECT_EQ(dense.kv_bytes_per_token, 2 * 2 * (2 * 64 * 2));
  EXPECT_EQ(dense.num_state_layers, 0);
  PoolPlan ssm = PlanPools({mamba, mamba, mamba});  // attention-free: no blocks at all
  EXPECT_EQ(ssm.kv_bytes_per_token, 0);
  EXPECT_EQ(ssm.state_bytes_per_seq, 3 * (3 * 128 + 16 * 128) * 4);
  PoolPlan hybrid = PlanPools({mamba, attn, mamba, window, none});  // Jamba-like + a no-op layer
  EXPECT_EQ(hybrid.num_block_layers, 2);
  EXPECT_EQ(hybrid.num_state_layers, 2);
  EXPECT_EQ(hybrid.kv_bytes_per_token, 2 * 64 * 2 * 2 + 2 * 64 * 4 * 2);
}

TEST(StatePool, OneSlotPerSequence) {
  StatePool p(2);
  EXPECT_EQ(p.Acquire("a"), 0);
  EXPECT_EQ(p.Acquire("a"), 0);
  EXPECT_EQ(p.Acquire("b"), 1);
  EXPECT_FALSE(p.Acquire("c").has_value());
  p.Release("a");
  EXPECT_EQ(p.Acquire("c"), 0);
}

// Writes scheduled tokens into paged storage and samples a token from what the block table
// reads back: f(all tokens) is deterministic, so any engine bug changes the output.
class FakeRunner {
 public:
  FakeRunner(int num_blocks, int block_size) : block_size_(block_size), slots_(num_blocks * block_size, -1) {}

  std::map<std::string, int32_t> Step(const Scheduler& s, const SchedulerOutput& out) {
    std::map<std::string, int32_t> sampled;
    for (const ScheduledRequest& r : out.scheduled) {
      const Request* req = s.Get(r.id);
      const std::vector<int>& table = s.BlockTable(r.id);
      for (int p = r.num_computed_tokens; p < r.num_computed_tokens + r.num_new_tokens; ++p) {
        slots_[Slot(table, p)] = req->tokens[p];
      }
      if (!r.samples) continue;
      uint64_t h = 1469598103934665603ull;
      for (int p = 0; p < req->num_tokens(); ++p) h = (h ^ static_cast<uint64_t>(slots_[Slot(table, p)] + 7)) * 1099511628211ull;
      sampled[r.id] = static_cast<int32_t>(h % 97) + 3;
    }
    return sampled;
  }

 private:
  int Slot(const std::vector<int>& table, int pos) const { return table.at(pos / block_size_) * block_size_ + pos % block_size_; }
  int block_size_;
  std::vector<int32_t> slots_;
};

std::vector<int32_t> Prompt(int len, int seed) {
  std::vector<int32_t> p(len);
  for (int i = 0; i < len; ++i) p[i] = 3 + (i * 31 + seed * 17) % 90;
  return p;
}

// Runs requests to completion; returns id -> generated tokens.
std::map<std::string, std::vector<int32_t>> RunAll(const SchedulerConfig& cfg, const std::vector<Request>& reqs,
                                                   int64_t* preemptions = nullptr, Scheduler** keep = nullptr) {
  static std::unique_ptr<Scheduler> last;
  last = std::make_unique<Scheduler>(cfg);
  Scheduler& s = *last;
  FakeRunner runner(cfg.num_blocks, cfg.block_size);
  for (const Request& r : reqs) EXPECT_TRUE(s.AddRequest(r).ok());
  std::map<std::string, std::vector<int32_t>> outputs;
  for (int step = 0; s.HasUnfinished() && step < 100000; ++step) {
    SchedulerOutput out = s.Schedule();
    EXPECT_LE(out.total_tokens, cfg.max_num_batched_tokens);
    EXPECT_LE(static_cast<int>(out.scheduled.size()), cfg.max_num_seqs);
    for (const std::string& id : s.Update(out, runner.Step(s, out))) {
      std::unique_ptr<Request> r = s.TakeFinished(id);
      outputs[id] = std::vector<int32_t>(r->output().begin(), r->output().end());
    }
  }
  EXPECT_FALSE(s.HasUnfinished());
  if (preemptions) *preemptions = s.num_preemptions();
  if (keep) *keep = &s;
  return outputs;
}

std::vector<Request> MixedRequests(int n, int max_len) {
  std::vector<Request> reqs;
  for (int i = 0; i < n; ++i) {
    Request r = Request::Make("r" + std::to_string(i), Prompt(1 + (i * 37) % max_len, i));
    r.max_tokens = 4 + i % 9;
    reqs.push_back(std::move(r));
  }
  return reqs;
}

TEST(Scheduler, ChunkedPrefillRespectsBudgetAndKeepsOutputs) {
  SchedulerConfig big;
  big.num_blocks = 4096;
  big.max_num_batched_tokens = 100000;
  const auto reqs = MixedRequests(16, 300);
  const auto reference = RunAll(big, reqs);
  for (int budget : {7, 64, 2048}) {
    SchedulerConfig cfg = big;
    cfg.max_num_batched_tokens = budget;
    EXPECT_EQ(RunAll(cfg, reqs), reference) << "budget " << budget;
  }
}

TEST(Scheduler, ChunksALongPromptAcrossSteps) {
  SchedulerConfig cfg;
  cfg.max_num_batched_tokens = 32;
  Scheduler s(cfg);
  Request r = Request::Make("a", Prompt(100, 1));
  r.max_tokens = 2;
  ASSERT_TRUE(s.AddRequest(r).ok());
  FakeRunner runner(cfg.num_blocks, cfg.block_size);
  std::vector<int> chunks;
  while (s.HasUnfinished()) {
    SchedulerOutput out = s.Schedule();
    ASSERT_EQ(out.scheduled.size(), 1u);
    chunks.push_back(out.scheduled[0].num_new_tokens);
    s.Update(out, runner.Step(s, out));
  }
  EXPECT_EQ(chunks, (std::vector<int>{32, 32, 32, 4, 1}));
}

TEST(Scheduler, PreemptionByRecomputeLosesNothing) {
  SchedulerConfig big;
  big.num_blocks = 4096;
  auto reqs = MixedRequests(32, 60);
  for (Request& r : reqs) r.max_tokens = 40;  // requests keep growing after admission
  const auto reference = RunAll(big, reqs);
  SchedulerConfig tiny = big;
  tiny.num_blocks = 10;  // 160 tokens of KV for 32 requests of up to 100 tokens
  tiny.max_num_batched_tokens = 256;
  tiny.enable_prefix_caching = false;
  int64_t preemptions = 0;
  EXPECT_EQ(RunAll(tiny, reqs, &preemptions), reference);
  EXPECT_GT(preemptions, 10);
}

TEST(Scheduler, PrefixCachingHitsOnSharedPrefixesWithSameOutputs) {
  SchedulerConfig cfg;
  cfg.num_blocks = 2048;
  std::vector<Request> reqs;
  const std::vector<int32_t> shared = Prompt(200, 99);
  for (int i = 0; i < 8; ++i) {
    std::vector<int32_t> p = shared;
    p.push_back(10 + i);
    Request r = Request::Make("p" + std::to_string(i), p);
    r.max_tokens = 5;
    reqs.push_back(std::move(r));
  }
  SchedulerConfig off = cfg;
  off.enable_prefix_caching = false;
  const auto uncached = RunAll(off, reqs);
  // Run the first alone so its blocks are cached, then the rest: each hits 192 of 201 tokens.
  Scheduler s(cfg);
  FakeRunner runner(cfg.num_blocks, cfg.block_size);
  std::map<std::string, std::vector<int32_t>> outputs;
  for (size_t i = 0; i < reqs.size(); ++i) {
    ASSERT_TRUE(s.AddRequest(reqs[i]).ok());
    while (s.HasUnfinished()) {
      SchedulerOutput out = s.Schedule();
      for (const std::string& id : s.Update(out, runner.Step(s, out))) {
        auto r = s.TakeFinished(id);
        outputs[id] = std::vector<int32_t>(r->output().begin(), r->output().end());
      }
    }
  }
  EXPECT_EQ(outputs, uncached);
  const double later_hits = static_cast<double>(s.kv().hit_tokens()) / (s.kv().query_tokens() - 201);
  EXPECT_GT(later_hits, 0.9) << s.kv().hit_tokens() << "/" << s.kv().query_tokens();
}

TEST(Scheduler, MaxNumSeqsAndRunningFirst) {
  SchedulerConfig cfg;
  cfg.max_num_seqs = 2;
  Scheduler s(cfg);
  for (int i = 0; i < 3; ++i) {
    Request r = Request::Make(std::to_string(i), Prompt(5, i));
    r.max_tokens = 3;
    ASSERT_TRUE(s.AddRequest(r).ok());
  }
  FakeRunner runner(cfg.num_blocks, cfg.block_size);
  SchedulerOutput out = s.Schedule();
  ASSERT_EQ(out.scheduled.size(), 2u);
  EXPECT_EQ(out.scheduled[0].id, "0");
  s.Update(out, runner.Step(s, out));
  out = s.Schedule();
  ASSERT_EQ(out.scheduled.size(), 2u);
  EXPECT_EQ(out.scheduled[0].num_new_tokens, 1);  // decode steps of the running ones
  EXPECT_EQ(s.num_waiting(), 1);
}

TEST(Scheduler, AbortFreesEverythingAtOnce) {
  SchedulerConfig cfg;
  cfg.num_blocks = 8;
  cfg.enable_prefix_caching = false;
  Scheduler s(cfg);
  Request r = Request::Make("x", Prompt(40, 1));
  r.max_tokens = 50;
  ASSERT_TRUE(s.AddRequest(r).ok());
  SchedulerOutput out = s.Schedule();
  EXPECT_EQ(s.kv().NumFreeBlocks(), 8 - 3);
  s.Abort("x");
  EXPECT_EQ(s.kv().NumFreeBlocks(), 8);
  EXPECT_FALSE(s.HasUnfinished());
  EXPECT_EQ(s.Get("x")->finish_reason, FinishReason::kAbort);
  EXPECT_TRUE(s.Update(out, {{"x", 5}}).empty());  // results of an aborted request are dropped
}

TEST(Scheduler, StopConditions) {
  SchedulerConfig cfg;
  Scheduler s(cfg);
  Request r = Request::Make("e", {5, 6});
  r.max_tokens = 10;
  r.min_tokens = 2;
  r.eos_token_ids = {2};
  ASSERT_TRUE(s.AddRequest(r).ok());
  std::vector<int32_t> feed = {2, 2, 9};  // EOS before min_tokens is kept going
  std::vector<std::string> finished;
  for (int32_t t : feed) {
    SchedulerOutput out = s.Schedule();
    finished = s.Update(out, {{"e", t}});
    if (!finished.empty()) break;
  }
  ASSERT_EQ(finished, std::vector<std::string>{"e"});
  EXPECT_EQ(s.Get("e")->finish_reason, FinishReason::kStop);
  EXPECT_EQ(s.Get("e")->num_output_tokens(), 2);
}

TEST(Scheduler, RejectsRequestsThatCanNeverRun) {
  SchedulerConfig cfg;
  cfg.max_model_len = 64;
  cfg.num_blocks = 2;
  Scheduler s(cfg);
  Request too_long = Request::Make("a", Prompt(60, 1));
  too_long.max_tokens = 10;
  Status st = s.AddRequest(too_long);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("maximum context length is 64"), std::string::npos);
  Request too_big = Request::Make("b", Prompt(30, 1));
  too_big.max_tokens = 10;
  st = s.AddRequest(too_big);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("never fit"), std::string::npos);
  EXPECT_FALSE(s.AddRequest(Request::Make("c", {})).ok());
}

TEST(Scheduler, LegacyPolicyRunsWholePromptsWithoutPrefixCaching) {
  SchedulerConfig cfg;
  cfg.policy = SchedulingPolicy::kLegacy;
  cfg.max_num_batched_tokens = 64;
  const auto reqs = MixedRequests(10, 60);
  Scheduler* s = nullptr;
  SchedulerConfig ref = cfg;
  ref.policy = SchedulingPolicy::kDefault;
  EXPECT_EQ(RunAll(cfg, reqs, nullptr, &s), RunAll(ref, reqs));
  Scheduler legacy(cfg);
  Request r = Request::Make("a", Prompt(40, 1));
  Request b = Request::Make("b", Prompt(40, 2));
  ASSERT_TRUE(legacy.AddRequest(r).ok());
  ASSERT_TRUE(legacy.AddRequest(b).ok());
  SchedulerOutput out = legacy.Schedule();
  ASSERT_EQ(out.scheduled.size(), 1u);  // b's 40 tokens do not fit the 24 left: no chunk
  EXPECT_EQ(out.scheduled[0].num_new_tokens, 40);
  EXPECT_FALSE(legacy.kv().prefix_caching());
  EXPECT_FALSE(legacy.AddRequest(Request::Make("c", Prompt(65, 3))).ok());
}

}  // namespace
}  // namespace loom
