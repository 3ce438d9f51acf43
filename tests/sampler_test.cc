// SamplingParams (vLLM's fields, defaults, checks), the logits processors, the batched sampler
// and the stop-string checker. Expected values are computed here from the formulas in vLLM's
// sampler, not recorded from our own output.
#include "engine/sampling/sampler.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <nlohmann/json.hpp>
#include <numeric>
#include <random>
#include <set>

#include "engine/sampling/stop_checker.h"

namespace loom {
namespace {

using nlohmann::json;
constexpr float kInf = std::numeric_limits<float>::infinity();

// ---------------------------------------------------------------------------------------------
// SamplingParams

TEST(SamplingParams, DefaultsAreVllms) {
  SamplingParams p;
  EXPECT_EQ(p.n, 1);
  EXPECT_FALSE(p.best_of.has_value());
  EXPECT_EQ(p.temperature, 1.0);
  EXPECT_EQ(p.top_p, 1.0);
  EXPECT_EQ(p.top_k, 0);
  EXPECT_EQ(p.min_p, 0.0);
  EXPECT_EQ(p.repetition_penalty, 1.0);
  EXPECT_EQ(p.presence_penalty, 0.0);
  EXPECT_EQ(p.frequency_penalty, 0.0);
  EXPECT_EQ(p.max_tokens, 16);
  EXPECT_EQ(p.min_tokens, 0);
  EXPECT_FALSE(p.logprobs.has_value());
  EXPECT_FALSE(p.seed.has_value());
  EXPECT_TRUE(p.skip_special_tokens);
  EXPECT_TRUE(p.spaces_between_special_tokens);
  EXPECT_FALSE(p.include_stop_str_in_output);
  EXPECT_FALSE(p.IsGreedy());
  EXPECT_TRUE(p.Validate(10).ok());
}

TEST(SamplingParams, ValidateRejectsEachBadFieldWithVllmsMessage) {
  struct Case {
    std::function<void(SamplingParams&)> set;
    StatusCode code;
    std::string message;
  };
  const int64_t vocab = 100;
  const std::vector<Case> cases = {
      {[](auto& p) { p.n = 0; }, StatusCode::kInvalidArgument, "n must be at least 1, got 0."},
      {[](auto& p) { p.n = 2, p.best_of = 1; }, StatusCode::kInvalidArgument,
       "best_of must be greater than or equal to n, got n=2 and best_of=1."},
      {[](auto& p) { p.best_of = 3; }, StatusCode::kUnimplemented,
       "best_of > n is not supported (got n=1 and best_of=3); vLLM V1 does not support best_of "
       "either"},
      {[](auto& p) { p.presence_penalty = 2.5; }, StatusCode::kInvalidArgument,
       "presence_penalty must be in [-2, 2], got 2.5."},
      {[](auto& p) { p.frequency_penalty = -3; }, StatusCode::kInvalidArgument,
       "frequency_penalty must be in [-2, 2], got -3.0."},
      {[](auto& p) { p.repetition_penalty = 0; }, StatusCode::kInvalidArgument,
       "repetition_penalty must be greater than zero, got 0.0."},
      {[](auto& p) { p.repetition_penalty = INFINITY; }, StatusCode::kInvalidArgument,
       "repetition_penalty must be a finite number, got inf."},
      {[](auto& p) { p.temperature = -1; }, StatusCode::kInvalidArgument,
       "temperature must be non-negative, got -1.0."},
      {[](auto& p) { p.temperature = 2.5; }, StatusCode::kInvalidArgument,
       "temperature must be in [0, 2], got 2.5."},
      {[](auto& p) { p.temperature = NAN; }, StatusCode::kInvalidArgument,
       "temperature must be a finite number, got nan."},
      {[](auto& p) { p.top_p = 0; }, StatusCode::kInvalidArgument,
       "top_p must be in (0, 1], got 0.0."},
      {[](auto& p) { p.top_p = 1.5; }, StatusCode::kInvalidArgument,
       "top_p must be in (0, 1], got 1.5."},
      {[](auto& p) { p.top_k = -2; }, StatusCode::kInvalidArgument,
       "top_k must be 0 (disable), or at least 1, got -2."},
      {[](auto& p) { p.min_p = 1.5; }, StatusCode::kInvalidArgument,
       "min_p must be in [0, 1], got 1.5."},
      {[](auto& p) { p.max_tokens = 0; }, StatusCode::kInvalidArgument,
       "max_tokens must be at least 1, got 0."},
      {[](auto& p) { p.min_tokens = -1; }, StatusCode::kInvalidArgument,
       "min_tokens must be greater than or equal to 0, got -1."},
      {[](auto& p) { p.min_tokens = 20; }, StatusCode::kInvalidArgument,
       "min_tokens must be less than or equal to max_tokens=16, got 20."},
      {[](auto& p) { p.logprobs = -2; }, StatusCode::kInvalidArgument,
       "logprobs must be non-negative or -1, got -2."},
      {[](auto& p) { p.logprobs = 101; }, StatusCode::kInvalidArgument,
       "Requested sample logprobs of 101, which is greater than max allowed: 100"},
      {[](auto& p) { p.prompt_logprobs = -3; }, StatusCode::kInvalidArgument,
       "prompt_logprobs must be non-negative or -1, got -3."},
      {[](auto& p) { p.prompt_logprobs = 500; }, StatusCode::kInvalidArgument,
       "Requested prompt_logprobs of 500, which is greater than max allowed: 100"},
      {[](auto& p) {
         p.stop = {"a", ""};
       },
       StatusCode::kInvalidArgument, "stop cannot contain an empty string."},
      {[](auto& p) {
         p.bad_words = {"x", ""};
       },
       StatusCode::kInvalidArgument,
       "bad_words cannot contain an empty string. Got bad_words=['x', '']"},
      {[](auto& p) { p.temperature = 0, p.n = 2; }, StatusCode::kInvalidArgument,
       "n must be 1 when using greedy sampling, got 2."},
      {[](auto& p) {
         p.stop_token_ids = {5, 100, 7, -1};
       },
       StatusCode::kInvalidArgument,
       "token_id(s) [100, -1] in stop_token_ids contain out-of-vocab token ids. Vocabulary size: "
       "100"},
      {[](auto& p) {
         p.logit_bias = {{3, 1.0f}, {250, -1.0f}};
       },
       StatusCode::kInvalidArgument,
       "token_id(s) [250] in logit_bias contain out-of-vocab token ids. Vocabulary size: 100"},
      {[](auto& p) { p.allowed_token_ids = std::vector<int32_t>{}; }, StatusCode::kInvalidArgument,
       "allowed_token_ids is not None and empty!"},
      {[](auto& p) {
         p.allowed_token_ids = std::vector<int32_t>{3, 123};
       },
       StatusCode::kInvalidArgument,
       "token_id(s) [123] in allowed_token_ids contain out-of-vocab token ids. Vocabulary size: "
       "100"},
  };
  for (const Case& c : cases) {
    SamplingParams p;
    c.set(p);
    const Status s = p.Validate(vocab);
    EXPECT_EQ(s.code(), c.code) << c.message;
    EXPECT_EQ(s.message(), c.message);
  }

  // Boundary values vLLM accepts.
  SamplingParams ok;
  ok.top_k = -1;
  ok.logprobs = -1;
  ok.prompt_logprobs = 100;
  ok.top_p = 1.0;
  ok.min_p = 1.0;
  ok.temperature = 2.0;
  ok.presence_penalty = -2;
  ok.max_tokens.reset();
  ok.min_tokens = 1000;  // no max_tokens: no upper bound
  ok.n = 3;
  ok.best_of = 3;
  EXPECT_TRUE(ok.Validate(100).ok()) << ok.Validate(100).message();
}

TEST(SamplingParams, FromJsonReadsVllmNamesAndNormalizes) {
  const json j = json::parse(R"({
      "n": 2, "best_of": 2, "presence_penalty": 0.5, "frequency_penalty": -0.5,
      "repetition_penalty": 1.2, "temperature": 0.7, "top_p": 0.9, "top_k": 40.0, "min_p": 0.05,
      "seed": 42, "stop": "###", "stop_token_ids": [7, 7, 9], "ignore_eos": true,
      "max_tokens": null, "min_tokens": 3, "logprobs": true, "prompt_logprobs": 2,
      "logit_bias": {"5": 150, "6": -3.5, "8": -250}, "allowed_token_ids": [1, 2, 3],
      "bad_words": ["x", "x", "y"], "include_stop_str_in_output": true,
      "skip_special_tokens": false, "spaces_between_special_tokens": false,
      "not_a_sampling_param": {"ignored": true}})");
  Result<SamplingParams> r = SamplingParams::FromJson(j);
  ASSERT_TRUE(r.ok()) << r.status().message();
  const SamplingParams& p = *r;
  EXPECT_EQ(p.n, 2);
  EXPECT_EQ(p.best_of, 2);
  EXPECT_EQ(p.presence_penalty, 0.5);
  EXPECT_EQ(p.frequency_penalty, -0.5);
  EXPECT_EQ(p.repetition_penalty, 1.2);
  EXPECT_EQ(p.temperature, 0.7);
  EXPECT_EQ(p.top_p, 0.9);
  EXPECT_EQ(p.top_k, 40);
  EXPECT_EQ(p.min_p, 0.05);
  EXPECT_EQ(p.seed, 42);
  EXPECT_EQ(p.stop, std::vector<std::string>{"###"});
  EXPECT_EQ(p.stop_token_ids, (std::vector<int32_t>{7, 9}));
  EXPECT_TRUE(p.ignore_eos);
  EXPECT_FALSE(p.max_tokens.has_value());
  EXPECT_EQ(p.min_tokens, 3);
  EXPECT_EQ(p.logprobs, 1);
  EXPECT_EQ(p.prompt_logprobs, 2);
  EXPECT_EQ(p.logit_bias, (std::map<int32_t, float>{{5, 100.0f}, {6, -3.5f}, {8, -100.0f}}));
  EXPECT_EQ(p.allowed_token_ids, (std::vector<int32_t>{1, 2, 3}));
  EXPECT_EQ(p.bad_words, (std::vector<std::string>{"x", "y"}));
  EXPECT_TRUE(p.include_stop_str_in_output);
  EXPECT_FALSE(p.skip_special_tokens);
  EXPECT_FALSE(p.spaces_between_special_tokens);
  EXPECT_TRUE(p.Validate(100).ok()) << p.Validate(100).message();

  // Nulls and absent keys keep the defaults; seed -1 is "no seed"; tiny temperatures are raised
  // to 0.01; logprobs false is unset.
  r = SamplingParams::FromJson(json::parse(
      R"({"n": null, "seed": -1, "temperature": 0.001, "logprobs": false, "stop": ["a", "b"]})"));
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->n, 1);
  EXPECT_FALSE(r->seed.has_value());
  EXPECT_EQ(r->temperature, 0.01);
  EXPECT_FALSE(r->logprobs.has_value());
  EXPECT_EQ(r->stop, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(r->max_tokens, 16);
  r = SamplingParams::FromJson(json::parse(R"({"temperature": 0})"));
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->IsGreedy());
}

TEST(SamplingParams, FromJsonWrongTypesNameTheField) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {R"({"temperature": "hot"})", "temperature"},
      {R"({"top_p": true})", "top_p"},
      {R"({"top_k": 2.5})", "top_k"},
      {R"({"n": "2"})", "n"},
      {R"({"max_tokens": [16]})", "max_tokens"},
      {R"({"seed": 1.5})", "seed"},
      {R"({"stop": 5})", "stop"},
      {R"({"stop": ["ok", 5]})", "stop"},
      {R"({"stop_token_ids": "7"})", "stop_token_ids"},
      {R"({"stop_token_ids": [7, "8"]})", "stop_token_ids"},
      {R"({"allowed_token_ids": [1.5]})", "allowed_token_ids"},
      {R"({"ignore_eos": 1})", "ignore_eos"},
      {R"({"include_stop_str_in_output": "yes"})", "include_stop_str_in_output"},
      {R"({"logprobs": "3"})", "logprobs"},
      {R"({"logit_bias": [1, 2]})", "logit_bias"},
      {R"({"logit_bias": {"abc": 1}})", "logit_bias"},
      {R"({"logit_bias": {"3": "x"}})", "logit_bias"},
      {R"({"bad_words": "x"})", "bad_words"},
      {R"({"min_tokens": 5000000000})", "min_tokens"},
  };
  for (const auto& [text, field] : cases) {
    Result<SamplingParams> r = SamplingParams::FromJson(json::parse(text));
    ASSERT_FALSE(r.ok()) << text;
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument) << text;
    EXPECT_NE(r.status().message().find(field), std::string::npos)
        << text << " -> " << r.status().message();
  }
  EXPECT_EQ(SamplingParams::FromJson(json::parse(R"({"logit_bias": {"abc": 1, "7": 2}})"))
                .status()
                .message(),
            "logit_bias contains key(s) that cannot be converted to integer token IDs: ['abc']");
  EXPECT_FALSE(SamplingParams::FromJson(json::array()).ok());
}

// ---------------------------------------------------------------------------------------------
// Logits processors on hand-made rows

std::vector<float> LogOf(std::vector<double> probs) {
  std::vector<float> l;
  for (double p : probs) l.push_back(static_cast<float>(std::log(p)));
  return l;
}

std::vector<int> KeptIds(const std::vector<float>& logits) {
  std::vector<int> ids;
  for (size_t i = 0; i < logits.size(); ++i) {
    if (logits[i] != -kInf) ids.push_back(static_cast<int>(i));
  }
  return ids;
}

TEST(LogitsProcessors, TopKKeepsTheKLargestAndBoundaryTies) {
  LogitsScratch s;
  std::vector<float> l = LogOf({0.15, 0.5, 0.05, 0.3});
  ApplyTopK(l, 2, s);
  EXPECT_EQ(KeptIds(l), (std::vector<int>{1, 3}));
  l = {3, 2, 2, 0, 1};
  ApplyTopK(l, 2, s);  // the 2nd largest value is 2: both 2s stay, as in vLLM
  EXPECT_EQ(KeptIds(l), (std::vector<int>{0, 1, 2}));
  l = {3, 2, 2, 0, 1};
  ApplyTopK(l, 0, s);  // disabled
  ApplyTopK(l, 5, s);  // == vocab: no-op
  EXPECT_EQ(KeptIds(l).size(), 5u);
}

TEST(LogitsProcessors, TopPKeepsTheSmallestNucleus) {
  LogitsScratch s;
  auto kept = [&](double top_p, std::vector<double> probs) {
    std::vector<float> l = LogOf(probs);
    ApplyTopP(l, top_p, s);
    return KeptIds(l);
  };
  const std::vector<double> probs = {0.5, 0.3, 0.15, 0.05};
  EXPECT_EQ(kept(0.8, probs), (std::vector<int>{0, 1}));
  EXPECT_EQ(kept(0.81, probs), (std::vector<int>{0, 1, 2}));
  EXPECT_EQ(kept(0.79, probs), (std::vector<int>{0, 1}));
  EXPECT_EQ(kept(0.5, probs), (std::vector<int>{0}));
  EXPECT_EQ(kept(0.51, probs), (std::vector<int>{0, 1}));
  EXPECT_EQ(kept(1e-4, probs), (std::vector<int>{0}));
  EXPECT_EQ(kept(0.99, probs), (std::vector<int>{0, 1, 2, 3}));
  EXPECT_EQ(kept(1.0, probs), (std::vector<int>{0, 1, 2, 3}));
  // Order-independent: the same set when the tokens are shuffled.
  EXPECT_EQ(kept(0.8, {0.05, 0.3, 0.15, 0.5}), (std::vector<int>{1, 3}));
  // After top-k the nucleus is taken over the renormalised survivors: top-2 of the row leaves
  // {0.5, 0.3} -> {0.625, 0.375}; top_p 0.6 then keeps only the first.
  std::vector<float> l = LogOf(probs);
  ApplyTopK(l, 2, s);
  ApplyTopP(l, 0.6, s);
  EXPECT_EQ(KeptIds(l), (std::vector<int>{0}));
}

TEST(LogitsProcessors, MinPKeepsTokensAboveAFractionOfTheMax) {
  auto kept = [](double min_p) {
    std::vector<float> l = LogOf({0.5, 0.3, 0.15, 0.05});
    ApplyMinP(l, min_p);
    return KeptIds(l);
  };
  EXPECT_EQ(kept(0.2), (std::vector<int>{0, 1, 2}));  // p >= 0.1
  EXPECT_EQ(kept(0.35), (std::vector<int>{0, 1}));    // p >= 0.175
  EXPECT_EQ(kept(1.0), (std::vector<int>{0}));
  EXPECT_EQ(kept(0.0), (std::vector<int>{0, 1, 2, 3}));
}

TEST(LogitsProcessors, TemperatureDividesLogits) {
  std::vector<float> l = {1, 2, -4, 0};
  ApplyTemperature(l, 0.5);
  EXPECT_EQ(l, (std::vector<float>{2, 4, -8, 0}));
}

TEST(LogitsProcessors, PenaltiesFollowVllmFormulas) {
  LogitsScratch s;
  const std::vector<int32_t> prompt = {1, 2, 1};
  const std::vector<int32_t> output = {2, 3, 3};
  const std::vector<float> base = {1.0f, 2.0f, -1.0f, 0.5f, 3.0f};

  // Repetition over prompt + output, once per token: positive / 2, negative * 2.
  std::vector<float> l = base;
  ApplyPenalties(l, prompt, output, 2.0f, 0, 0, s);
  EXPECT_EQ(l, (std::vector<float>{1.0f, 1.0f, -2.0f, 0.25f, 3.0f}));

  // Frequency: output count * f (token 3 twice, token 2 once); prompt tokens untouched.
  l = base;
  ApplyPenalties(l, prompt, output, 1.0f, 0.5f, 0, s);
  EXPECT_EQ(l, (std::vector<float>{1.0f, 2.0f, -1.5f, -0.5f, 3.0f}));

  // Presence: p once per distinct output token.
  l = base;
  ApplyPenalties(l, prompt, output, 1.0f, 0, 0.25f, s);
  EXPECT_EQ(l, (std::vector<float>{1.0f, 2.0f, -1.25f, 0.25f, 3.0f}));

  // All three: repetition first, then frequency and presence.
  l = base;
  ApplyPenalties(l, prompt, output, 2.0f, 0.5f, 0.25f, s);
  const std::vector<float> want = {1.0f, 1.0f, -2.0f - 0.5f - 0.25f, 0.25f - 1.0f - 0.25f, 3.0f};
  EXPECT_EQ(l, want);
  // The scratch counts are left zeroed: a second call gives the same answer.
  l = base;
  ApplyPenalties(l, prompt, output, 2.0f, 0.5f, 0.25f, s);
  EXPECT_EQ(l, want);
  EXPECT_TRUE(std::all_of(s.counts.begin(), s.counts.end(), [](int32_t c) { return c == 0; }));
}

TEST(LogitsProcessors, BadWordsBanTheLastTokenOnlyAfterTheirPrefix) {
  const std::vector<std::vector<int32_t>> bad = {{5}, {1, 2, 3}};
  auto kept = [&](std::vector<int32_t> output) {
    std::vector<float> l(8, 0.0f);
    ApplyBadWords(l, bad, output);
    return KeptIds(l);
  };
  EXPECT_EQ(kept({}), (std::vector<int>{0, 1, 2, 3, 4, 6, 7}));         // single token: always
  EXPECT_EQ(kept({0, 1, 2}), (std::vector<int>{0, 1, 2, 4, 6, 7}));     // prefix [1, 2] matches
  EXPECT_EQ(kept({1, 2, 0}), (std::vector<int>{0, 1, 2, 3, 4, 6, 7}));  // not at the end
  EXPECT_EQ(kept({2}), (std::vector<int>{0, 1, 2, 3, 4, 6, 7}));        // too short
  EXPECT_EQ(kept({1, 2}), (std::vector<int>{0, 1, 2, 4, 6, 7}));
}

// ---------------------------------------------------------------------------------------------
// The sampler

struct Row {
  SamplingParams params;
  std::vector<int32_t> prompt, output;
  std::vector<int32_t> eos;
  std::vector<std::vector<int32_t>> bad_words;
  std::mt19937_64 gen{0};

  SeqSamplingInput Input() {
    SeqSamplingInput in;
    in.params = &params;
    in.prompt = prompt;
    in.output = output;
    in.eos_token_ids = eos;
    in.bad_words_ids = &bad_words;
    in.generator = &gen;
    return in;
  }
};

SampleOutput SampleOne(std::vector<float> logits, Row& row) {
  const SeqSamplingInput in = row.Input();
  return Sample(logits.data(), static_cast<int64_t>(logits.size()), {&in, 1})[0];
}

SamplingParams Greedy() {
  SamplingParams p;
  p.temperature = 0;
  return p;
}

TEST(Sampler, GreedyTakesTheFirstArgmaxWithoutDrawing) {
  Row row;
  row.params = Greedy();
  const std::mt19937_64 before = row.gen;
  EXPECT_EQ(SampleOne({1, 3, 2, 3}, row).token, 1);
  row.params.temperature = 1e-6;  // below vLLM's epsilon: still greedy
  EXPECT_EQ(SampleOne({1, 3, 2, 3, 5}, row).token, 4);
  EXPECT_TRUE(row.gen == before);
  SeqSamplingInput in = row.Input();
  in.generator = nullptr;  // greedy rows need no generator
  std::vector<float> l = {0, 1, 7, 2};
  EXPECT_EQ(Sample(l.data(), 4, {&in, 1})[0].token, 2);
}

TEST(Sampler, LogitBiasAllowedTokensAndPenaltiesChangeTheArgmax) {
  Row row;
  row.params = Greedy();
  row.params.logit_bias = {{0, 5.0f}};
  EXPECT_EQ(SampleOne({0, 1, 2}, row).token, 0);
  EXPECT_EQ(SampleOne({0, 1, 5.5}, row).token, 2);

  row.params = Greedy();
  row.params.allowed_token_ids = std::vector<int32_t>{2, 3};
  EXPECT_EQ(SampleOne({5, 4, 3, 2, 1}, row).token, 2);
  row.params.temperature = 1.0;  // random draws also stay inside the allowed set
  for (int i = 0; i < 200; ++i) {
    const int32_t t = SampleOne({5, 4, 3, 2, 1}, row).token;
    ASSERT_TRUE(t == 2 || t == 3) << t;
  }

  row = Row();
  row.params = Greedy();
  row.params.repetition_penalty = 2.0;
  row.prompt = {0};
  EXPECT_EQ(SampleOne({3.0f, 2.0f}, row).token, 1);  // 3 / 2 < 2
  row.params.repetition_penalty = 1.0;
  row.params.presence_penalty = 1.5;
  row.output = {0};
  EXPECT_EQ(SampleOne({3.0f, 2.0f}, row).token, 1);  // 3 - 1.5 < 2
}

TEST(Sampler, MinTokensBansEosAndStopTokensUntilReached) {
  Row row;
  row.params = Greedy();
  row.params.min_tokens = 2;
  row.params.stop_token_ids = {3};
  row.eos = {4};
  const std::vector<float> l = {0, 1, 2, 5, 6};
  row.output = {};
  EXPECT_EQ(SampleOne(l, row).token, 2);
  row.output = {2};
  EXPECT_EQ(SampleOne(l, row).token, 2);
  row.output = {2, 2};
  EXPECT_EQ(SampleOne(l, row).token, 4);
}

TEST(Sampler, BadWordsInTheSampler) {
  Row row;
  row.params = Greedy();
  row.bad_words = {{6}, {1, 2, 7}};
  const std::vector<float> l = {0, 1, 2, 3, 4, 5, 9, 8};
  row.output = {0, 1};
  EXPECT_EQ(SampleOne(l, row).token, 7);  // 6 banned always; 7 only after [1, 2]
  row.output = {0, 1, 2};
  EXPECT_EQ(SampleOne(l, row).token, 5);
}

TEST(Sampler, AllTokensBannedFallsBackToTheRawArgmax) {
  Row row;
  row.params = Greedy();
  row.params.allowed_token_ids = std::vector<int32_t>{2};
  row.bad_words = {{2}};
  EXPECT_EQ(SampleOne({0, 4, 1}, row).token, 1);
  row.params.temperature = 1.0;
  EXPECT_EQ(SampleOne({0, 4, 1}, row).token, 1);
}

TEST(Sampler, LogprobsAreRawTopKWithTheSampledRank) {
  const std::vector<float> logits = {2.0f, 1.0f, 0.5f, 3.0f, -1.0f};
  double lse = 0;
  for (float x : logits) lse += std::exp(static_cast<double>(x));
  lse = std::log(lse);
  auto lp = [&](int i) { return static_cast<float>(logits[i] - lse); };

  Row row;
  row.params = Greedy();
  row.params.logit_bias = {{4, 100.0f}};  // forces the least likely token; logprobs stay raw
  row.params.logprobs = 2;
  SampleOutput s = SampleOne(logits, row);
  EXPECT_EQ(s.token, 4);
  EXPECT_NEAR(s.logprob, lp(4), 1e-5);
  EXPECT_EQ(s.rank, 5);
  ASSERT_EQ(s.top.size(), 2u);
  EXPECT_EQ(s.top[0].id, 3);
  EXPECT_NEAR(s.top[0].logprob, lp(3), 1e-5);
  EXPECT_EQ(s.top[1].id, 0);
  EXPECT_NEAR(s.top[1].logprob, lp(0), 1e-5);

  row.params.logit_bias.clear();
  row.params.logprobs = -1;  // the whole vocabulary, most likely first
  s = SampleOne(logits, row);
  EXPECT_EQ(s.token, 3);
  EXPECT_EQ(s.rank, 1);
  ASSERT_EQ(s.top.size(), 5u);
  EXPECT_EQ(s.top[4].id, 4);

  row.params.logprobs = 0;  // only the sampled token
  s = SampleOne(logits, row);
  EXPECT_TRUE(s.top.empty());
  EXPECT_NEAR(s.logprob, lp(3), 1e-5);
  row.params.logprobs.reset();
  EXPECT_TRUE(SampleOne(logits, row).top.empty());

  // Rank counts every token at least as likely (vLLM's `(x >= value).sum()`): ties share.
  row.params.logprobs = 1;
  s = SampleOne({1.0f, 1.0f, 0.0f}, row);
  EXPECT_EQ(s.token, 0);
  EXPECT_EQ(s.rank, 2);
}

std::vector<float> RandomLogits(int vocab, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> d(0.0f, 2.0f);
  std::vector<float> l(vocab);
  for (float& x : l) x = d(rng);
  return l;
}

TEST(Sampler, SeededRequestIsReproducibleWhateverTheBatch) {
  constexpr int kVocab = 64, kSteps = 40, kBatch = 8, kTarget = 3;
  SamplingParams target;
  target.seed = 1234;
  target.temperature = 0.9;
  target.top_k = 30;
  target.top_p = 0.95;
  target.frequency_penalty = 0.3;
  const std::vector<float> target_logits = RandomLogits(kVocab, 7);

  // Alone.
  std::vector<int32_t> alone;
  {
    Row row;
    row.params = target;
    row.gen = MakeGenerator(target);
    for (int step = 0; step < kSteps; ++step) {
      row.output = alone;
      alone.push_back(SampleOne(target_logits, row).token);
    }
  }

  // In a batch of 8 with other seeded, unseeded and greedy rows (different logits each step).
  std::vector<Row> rows(kBatch);
  for (int i = 0; i < kBatch; ++i) {
    if (i == kTarget) {
      rows[i].params = target;
    } else if (i % 3 == 0) {
      rows[i].params.seed = 99 + i;
    } else if (i % 3 == 1) {
      rows[i].params.temperature = 1.3;
      rows[i].params.min_p = 0.05;
    } else {
      rows[i].params = Greedy();
    }
    rows[i].gen = MakeGenerator(rows[i].params);
  }
  std::vector<int32_t> batched;
  for (int step = 0; step < kSteps; ++step) {
    std::vector<float> logits;
    std::vector<SeqSamplingInput> inputs;
    for (int i = 0; i < kBatch; ++i) {
      const std::vector<float> l =
          i == kTarget ? target_logits : RandomLogits(kVocab, 100 * step + i);
      logits.insert(logits.end(), l.begin(), l.end());
      inputs.push_back(rows[i].Input());
    }
    const std::vector<SampleOutput> out = Sample(logits.data(), kVocab, inputs);
    for (int i = 0; i < kBatch; ++i) rows[i].output.push_back(out[i].token);
    batched.push_back(out[kTarget].token);
  }
  EXPECT_EQ(batched, alone);
  // The draws are not degenerate: a 64-token distribution gives several distinct tokens.
  EXPECT_GT(std::set<int32_t>(alone.begin(), alone.end()).size(), 5u);

  // n > 1: child k is seeded with seed + k (vLLM's ParentRequest); unseeded requests differ.
  EXPECT_TRUE(MakeGenerator(target, 2) == std::mt19937_64(1236));
  SamplingParams unseeded;
  EXPECT_FALSE(MakeGenerator(unseeded) == MakeGenerator(unseeded));
}

// Pearson's chi-square of `counts` against `probs` (categories with p = 0 must be empty).
double ChiSquare(const std::vector<int>& counts, const std::vector<double>& probs, int n) {
  double chi2 = 0;
  for (size_t i = 0; i < probs.size(); ++i) {
    if (probs[i] == 0) {
      EXPECT_EQ(counts[i], 0) << "token " << i << " should never be sampled";
      continue;
    }
    const double e = probs[i] * n;
    chi2 += (counts[i] - e) * (counts[i] - e) / e;
  }
  return chi2;
}

std::vector<int> Histogram(const SamplingParams& params, const std::vector<float>& logits, int n) {
  Row row;
  row.params = params;
  row.gen = std::mt19937_64(20240601);
  std::vector<int> counts(logits.size(), 0);
  for (int i = 0; i < n; ++i) ++counts[SampleOne(logits, row).token];
  return counts;
}

std::vector<double> Softmax(const std::vector<float>& logits, double temperature) {
  std::vector<double> p;
  for (float x : logits) p.push_back(std::exp(x / temperature));
  const double z = std::accumulate(p.begin(), p.end(), 0.0);
  for (double& x : p) x /= z;
  return p;
}

std::vector<double> Renormalized(std::vector<double> p, const std::vector<bool>& keep) {
  double z = 0;
  for (size_t i = 0; i < p.size(); ++i) {
    if (!keep[i]) p[i] = 0;
    z += p[i];
  }
  for (double& x : p) x /= z;
  return p;
}

// 0.999 quantiles of chi-square with 1..5 degrees of freedom.
constexpr double kChi2Crit999[] = {0, 10.828, 13.816, 16.266, 18.467, 20.515};
const std::vector<float> kSix = {1.0f, 0.5f, 0.2f, -0.3f, -1.0f, -2.0f};
constexpr int kDraws = 20000;

TEST(Sampler, ChiSquareTemperatureAndTopK) {
  SamplingParams p;
  p.temperature = 0.7;
  p.top_k = 5;
  // Expected: softmax(l / 0.7) over the five largest logits.
  const std::vector<double> want = Renormalized(Softmax(kSix, 0.7), {1, 1, 1, 1, 1, 0});
  const double chi2 = ChiSquare(Histogram(p, kSix, kDraws), want, kDraws);
  EXPECT_LT(chi2, kChi2Crit999[4]);
}

TEST(Sampler, ChiSquareTopP) {
  SamplingParams p;
  p.top_p = 0.9;
  // Expected: the most likely tokens until their mass first reaches 0.9.
  const std::vector<double> full = Softmax(kSix, 1.0);  // already in descending order
  std::vector<bool> keep(full.size());
  double before = 0;
  for (size_t i = 0; i < full.size(); ++i) {
    keep[i] = before < 0.9;
    before += full[i];
  }
  ASSERT_EQ(std::count(keep.begin(), keep.end(), true), 4);
  const std::vector<double> want = Renormalized(full, keep);
  EXPECT_LT(ChiSquare(Histogram(p, kSix, kDraws), want, kDraws), kChi2Crit999[3]);
}

TEST(Sampler, ChiSquareMinP) {
  SamplingParams p;
  p.temperature = 0.8;
  p.min_p = 0.15;
  const std::vector<double> full = Softmax(kSix, 0.8);
  const double pmax = *std::max_element(full.begin(), full.end());
  std::vector<bool> keep;
  for (double x : full) keep.push_back(x >= 0.15 * pmax);
  ASSERT_EQ(std::count(keep.begin(), keep.end(), true), 4);
  const std::vector<double> want = Renormalized(full, keep);
  EXPECT_LT(ChiSquare(Histogram(p, kSix, kDraws), want, kDraws), kChi2Crit999[3]);
}

// ---------------------------------------------------------------------------------------------
// Stop strings

TEST(StopChecker, StopStringSpanningTwoDeltas) {
  StopChecker c({"STOP"}, /*include_stop_str_in_output=*/false);
  std::string text = "hello ST";
  StopCheck r = c.Check(text, text.size());
  EXPECT_FALSE(r.stopped);
  EXPECT_EQ(r.kept, text);
  EXPECT_EQ(r.hold_back, 3u);  // max(len(stop)) - 1
  text += "OP now";
  r = c.Check(text, 6);
  EXPECT_TRUE(r.stopped);
  EXPECT_EQ(r.stop_index, 0);
  EXPECT_EQ(r.kept, "hello ");
  EXPECT_EQ(r.hold_back, 0u);
}

TEST(StopChecker, IncludeStopStringInOutput) {
  StopChecker c({"STOP"}, /*include_stop_str_in_output=*/true);
  std::string text = "hello ST";
  StopCheck r = c.Check(text, text.size());
  EXPECT_FALSE(r.stopped);
  EXPECT_EQ(r.hold_back, 0u);  // nothing to retract when the stop string is kept
  text += "OP now";
  r = c.Check(text, 6);
  EXPECT_TRUE(r.stopped);
  EXPECT_EQ(r.kept, "hello STOP");  // text after the stop string is still dropped
  r = c.Check("xSTOP", 3);
  EXPECT_TRUE(r.stopped);
  EXPECT_EQ(r.kept, "xSTOP");
}

TEST(StopChecker, HoldBackCountsCodePoints) {
  StopChecker c({"abc", "de"}, false);
  EXPECT_EQ(c.HoldBack("xyz"), 2u);
  EXPECT_EQ(c.HoldBack("x"), 1u);
  EXPECT_EQ(c.HoldBack(""), 0u);
  StopChecker u({"\xC3\xA9\xC3\xA9\xC3\xA9"}, false);       // "ééé": 3 code points
  EXPECT_EQ(u.HoldBack("a\xC3\xA9\xE2\x82\xAC"), 2u + 3u);  // "é€" held back: 5 bytes
  EXPECT_EQ(StopChecker({}, false).HoldBack("abc"), 0u);
  SamplingParams p;
  p.stop = {"####"};
  EXPECT_EQ(StopChecker(p).HoldBack("abcdef"), 3u);
}

TEST(StopChecker, EarliestCompletingStopWins) {
  StopChecker c({"world", "lo w"}, false);
  StopCheck r = c.Check("hello world", 11);
  EXPECT_TRUE(r.stopped);
  EXPECT_EQ(r.stop_index, 1);  // "lo w" completes first though listed second
  EXPECT_EQ(r.kept, "hel");
  // Equal ends: the earlier entry of the stop list.
  EXPECT_EQ(StopChecker({"ab", "b"}, false).Check("xab", 3).kept, "x");
  EXPECT_EQ(StopChecker({"b", "ab"}, false).Check("xab", 3).kept, "xa");
}

TEST(StopChecker, SearchesOnlyTextThatCanHoldANewMatch) {
  StopChecker c({"STOP"}, false);
  // A match wholly inside text checked before is not reported again (vLLM's search window).
  EXPECT_FALSE(c.Check("aSTOPbcdef", 3).stopped);
  EXPECT_TRUE(c.Check("aSTOPbc", 3).stopped);  // "STOP" ends inside the window's reach
  EXPECT_FALSE(c.Check("STOP", 0).stopped);    // nothing new
}

}  // namespace
}  // namespace loom
