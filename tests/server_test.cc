// The OpenAI-compatible server in-process on a loopback port, driven with an HTTP client:
// completions (plain and SSE) equal the offline engine, errors are OpenAI's JSON.
#include "server/server.h"

#include <gtest/gtest.h>
#include <httplib.h>

#include <thread>

#include "engine/llm.h"
#include "server_fixture.h"
#include "test_util.h"

namespace loom {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

class ServerTest : public testing::TinyServerTest {
 protected:
  void SetUp() override {
    TinyServerTest::SetUp();
    client_ = std::make_unique<httplib::Client>("127.0.0.1", port_);
    client_->set_bearer_token_auth("secret");
    client_->set_read_timeout(30, 0);
  }

  std::pair<int, json> Post(const std::string& path, const std::string& body) {
    httplib::Result r = client_->Post(path, body, "application/json");
    if (!r) return {0, json()};
    return {r->status, json::parse(r->body, nullptr, false)};
  }

  // Polls /metrics (from a second client: one is not for two threads) until a request runs.
  void WaitUntilRunning() {
    httplib::Client poll("127.0.0.1", port_);
    for (int i = 0; i < 2000; ++i) {
      auto m = poll.Get("/metrics");
      if (m &&
          m->body.find("loom:num_requests_running{model_name=\"tiny\"} 0\n") == std::string::npos)
        return;
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    FAIL() << "no request started";
  }

  // What the offline engine generates for the same prompt (greedy).
  std::string Offline(const std::string& prompt, int max_tokens) {
    Result<std::unique_ptr<LLM>> loaded = LLM::Load(model_, TinyEngineConfig());
    std::unique_ptr<LLM> llm = std::move(loaded).value();
    SamplingParams p = *SamplingParams::FromJson(
        {{"temperature", 0}, {"max_tokens", max_tokens}, {"ignore_eos", true}});
    return (*llm->Generate({*llm->Encode(prompt)}, {p}))[0].outputs[0].text;
  }

  std::unique_ptr<httplib::Client> client_;
};

TEST_F(ServerTest, CompletionEqualsOfflineGeneration) {
  auto [status, body] = Post(
      "/v1/completions",
      R"({"model": "tiny", "prompt": "Hello", "max_tokens": 12, "temperature": 0, "ignore_eos": true})");
  ASSERT_EQ(status, 200) << body.dump();
  EXPECT_EQ(body["object"], "text_completion");
  EXPECT_EQ(body["choices"][0]["text"], json(Offline("Hello", 12)));
  EXPECT_EQ(body["choices"][0]["finish_reason"], "length");
  EXPECT_EQ(body["usage"]["prompt_tokens"], 5);
  EXPECT_EQ(body["usage"]["completion_tokens"], 12);
  EXPECT_EQ(body["usage"]["total_tokens"], 17);
}

TEST_F(ServerTest, StreamingConcatenatesToTheSameText) {
  auto r = client_->Post(
      "/v1/completions",
      R"({"prompt": "Hello", "max_tokens": 12, "temperature": 0, "ignore_eos": true, "n": 2,
                             "stream": true, "stream_options": {"include_usage": true}})",
      "application/json");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200);
  std::map<int, std::string> text;
  int done = 0, finished = 0;
  json usage;
  size_t pos = 0;
  while ((pos = r->body.find("data: ", pos)) != std::string::npos) {
    const size_t end = r->body.find("\n\n", pos);
    const std::string data = r->body.substr(pos + 6, end - pos - 6);
    pos = end;
    if (data == "[DONE]") {
      ++done;
      continue;
    }
    const json chunk = json::parse(data);
    if (chunk.contains("usage")) usage = chunk["usage"];
    for (const auto& c : chunk["choices"]) {
      text[c["index"].get<int>()] += c["text"].get<std::string>();
      if (!c["finish_reason"].is_null()) ++finished;
    }
  }
  EXPECT_EQ(done, 1);
  EXPECT_EQ(finished, 2);
  const std::string want = json(Offline("Hello", 12)).get<std::string>();
  EXPECT_EQ(text[0], want);
  EXPECT_EQ(text[1], want);  // greedy: both choices agree
  EXPECT_EQ(usage["completion_tokens"], 24);
  EXPECT_EQ(usage["prompt_tokens"], 5);  // once, not once per choice (OpenAI, vLLM)
}

TEST_F(ServerTest, ChatCompletionRendersTheTemplate) {
  auto [status, body] =
      Post("/v1/chat/completions",
           R"({"messages": [{"role": "user", "content": "Hi"}], "max_completion_tokens": 6,
                                 "temperature": 0, "ignore_eos": true})");
  ASSERT_EQ(status, 200) << body.dump();
  EXPECT_EQ(body["object"], "chat.completion");
  EXPECT_EQ(body["choices"][0]["message"]["role"], "assistant");
  const std::string prompt = "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n";
  EXPECT_EQ(body["choices"][0]["message"]["content"], json(Offline(prompt, 6)));
  EXPECT_EQ(body["usage"]["prompt_tokens"], static_cast<int>(prompt.size()));  // one token per byte
  EXPECT_EQ(body["usage"]["completion_tokens"], 6);

  auto r = client_->Post(
      "/v1/chat/completions",
      R"({"messages": [{"role": "user", "content": "Hi"}], "max_tokens": 6, "temperature": 0,
                             "ignore_eos": true, "stream": true})",
      "application/json");
  ASSERT_TRUE(r);
  std::string text;
  size_t pos = 0;
  bool role = false, done = false;
  while ((pos = r->body.find("data: ", pos)) != std::string::npos) {
    const size_t end = r->body.find("\n\n", pos);
    const std::string data = r->body.substr(pos + 6, end - pos - 6);
    pos = end;
    if (data == "[DONE]") {
      done = true;
      continue;
    }
    const json delta = json::parse(data)["choices"][0]["delta"];
    role |= delta.value("role", "") == "assistant";
    text += delta.value("content", "");
  }
  EXPECT_TRUE(role && done);
  EXPECT_EQ(json(text), body["choices"][0]["message"]["content"]);
}

TEST_F(ServerTest, ErrorsAreOpenAIJson) {
  auto expect_error = [&](int want_status, const std::string& body, const std::string& needle) {
    auto [status, j] = Post("/v1/completions", body);
    EXPECT_EQ(status, want_status) << body;
    ASSERT_TRUE(j.contains("error")) << j.dump();
    EXPECT_NE(j["error"]["message"].get<std::string>().find(needle), std::string::npos) << j.dump();
  };
  expect_error(400, "{not json", "JSON object");
  expect_error(400, R"({"prompt": "hi", "temperature": -1})", "temperature");
  expect_error(400, R"({"prompt": "hi", "max_tokens": 100000})", "maximum context length");
  expect_error(400, R"({"prompt": [1, 99999]})", "99999");
  expect_error(404, R"({"model": "gpt-4", "prompt": "hi"})", "does not exist");
  httplib::Client anon("127.0.0.1", port_);
  auto r = anon.Post("/v1/completions", R"({"prompt": "hi"})", "application/json");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 401);
  r = client_->Get("/v1/nothing");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 404);
  // The server is still fine.
  EXPECT_EQ(Post("/v1/completions", R"({"prompt": "hi", "max_tokens": 2})").first, 200);
}

TEST_F(ServerTest, ModelsTokenizeDetokenizeHealth) {
  auto r = client_->Get("/v1/models");
  ASSERT_TRUE(r);
  const json models = json::parse(r->body);
  EXPECT_EQ(models["data"][0]["id"], "tiny");
  EXPECT_EQ(models["data"][0]["max_model_len"], 512);
  auto [st, tok] = Post("/tokenize", R"({"prompt": "Hi!"})");
  EXPECT_EQ(st, 200);
  EXPECT_EQ(tok["tokens"], json({72, 105, 33}));
  EXPECT_EQ(tok["count"], 3);
  auto [st3, chat] = Post("/tokenize", R"({"messages": [{"role": "user", "content": "Hi"}]})");
  EXPECT_EQ(st3, 200);
  EXPECT_EQ(chat["count"],
            std::string("<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n").size());
  auto [st2, detok] = Post("/detokenize", R"({"tokens": [72, 105, 33]})");
  EXPECT_EQ(st2, 200);
  EXPECT_EQ(detok["prompt"], "Hi!");
  EXPECT_EQ(client_->Get("/health")->status, 200);
}

TEST_F(ServerTest, MetricsShowNothingHeldAfterRequests) {
  for (int i = 0; i < 3; ++i)
    ASSERT_EQ(Post("/v1/completions", R"({"prompt": "abc", "max_tokens": 4})").first, 200);
  auto r = client_->Get("/metrics");
  ASSERT_TRUE(r);
  EXPECT_NE(r->body.find("loom:kv_cache_usage_perc{model_name=\"tiny\"} 0\n"), std::string::npos)
      << r->body;
  EXPECT_NE(r->body.find("loom:generation_tokens_total{model_name=\"tiny\"} 12\n"),
            std::string::npos)
      << r->body;
  EXPECT_NE(r->body.find("loom:num_requests_running{model_name=\"tiny\"} 0\n"), std::string::npos)
      << r->body;
  // Each request: one time to first token, three inter-token gaps, one end-to-end latency.
  EXPECT_NE(r->body.find(
                "loom:request_success_total{model_name=\"tiny\",finished_reason=\"length\"} 3\n"),
            std::string::npos)
      << r->body;
  EXPECT_NE(r->body.find("loom:time_to_first_token_seconds_count{model_name=\"tiny\"} 3\n"),
            std::string::npos);
  EXPECT_NE(
      r->body.find("loom:time_to_first_token_seconds_bucket{model_name=\"tiny\",le=\"+Inf\"} 3\n"),
      std::string::npos);
  EXPECT_NE(r->body.find("loom:inter_token_latency_seconds_count{model_name=\"tiny\"} 9\n"),
            std::string::npos);
  EXPECT_NE(r->body.find("loom:e2e_request_latency_seconds_count{model_name=\"tiny\"} 3\n"),
            std::string::npos);
}

// Logprobs over HTTP against the independent PyTorch reference (golden.json): echoed prompt
// tokens carry the reference's prompt logprobs, generated ones its greedy logprobs.
TEST_F(ServerTest, CompletionLogprobsWithEchoMatchTheReference) {
  const json golden = testing::ReadJson(testing::ModelsDir() / "llama-gqa-f32" / "golden.json");
  const std::vector<int32_t> prompt = golden["prompt_ids"];
  const json req = {{"prompt", prompt},    {"max_tokens", 8}, {"temperature", 0},
                    {"ignore_eos", true},  {"logprobs", 2},   {"echo", true},
                    {"prompt_logprobs", 1}};
  auto [status, body] = Post("/v1/completions", req.dump());
  ASSERT_EQ(status, 200) << body.dump();
  const json& choice = body["choices"][0];
  const json& lp = choice["logprobs"];
  const size_t p = prompt.size();
  ASSERT_EQ(lp["tokens"].size(), p + 8);
  ASSERT_EQ(lp["token_logprobs"].size(), p + 8);
  EXPECT_TRUE(lp["token_logprobs"][0].is_null());
  EXPECT_TRUE(lp["top_logprobs"][0].is_null());
  // text_offset counts characters (code points) of the tokens before, as Python's len().
  size_t chars = 0;
  for (size_t t = 0; t < p + 8; ++t) {
    EXPECT_EQ(lp["text_offset"][t], chars);
    const std::string tok = lp["tokens"][t];
    chars += std::count_if(tok.begin(), tok.end(),
                           [](char c) { return (static_cast<unsigned char>(c) & 0xC0) != 0x80; });
  }
  for (size_t t = 1; t < p; ++t) {  // row t - 1 of the reference predicts prompt token t
    const double want = golden["prompt_logprobs"][t - 1][prompt[t]];
    EXPECT_NEAR(lp["token_logprobs"][t].get<double>(), want, 1e-4) << t;
    // vLLM's prompt_logprobs: the prompt token under its id, with the rank the reference gives it.
    const json& entry = choice["prompt_logprobs"][t][std::to_string(prompt[t])];
    EXPECT_NEAR(entry["logprob"].get<double>(), want, 1e-4);
    const auto row = golden["prompt_logprobs"][t - 1].get<std::vector<double>>();
    EXPECT_EQ(entry["rank"],
              std::count_if(row.begin(), row.end(), [&](double v) { return v >= want - 1e-6; }));
  }
  EXPECT_TRUE(choice["prompt_logprobs"][0].is_null());
  for (size_t k = 0; k < 8; ++k) {
    const json& top = lp["top_logprobs"][p + k];
    EXPECT_NEAR(lp["token_logprobs"][p + k].get<double>(),
                golden["greedy_logprobs"][k].get<double>(), 1e-4);
    // The top 2 and the chosen token (greedy: among them) by their strings; bytes that are not
    // characters alone all read U+FFFD, so two of them can share a key (as in vLLM).
    EXPECT_GE(top.size(), 1u);
    EXPECT_LE(top.size(), 2u);
    EXPECT_EQ(top[lp["tokens"][p + k].get<std::string>()], lp["token_logprobs"][p + k]);
    for (const auto& [tok, v] : top.items())
      EXPECT_LE(v.get<double>(), lp["token_logprobs"][p + k].get<double>() + 1e-6);
  }
  EXPECT_EQ(body["usage"]["prompt_tokens"], p);
  EXPECT_EQ(body["usage"]["completion_tokens"], 8);
}

TEST_F(ServerTest, StreamedLogprobsEqualTheWholeResponse) {
  const json req = {{"prompt", "Hello"},  {"max_tokens", 6}, {"temperature", 0},
                    {"ignore_eos", true}, {"logprobs", 1},   {"echo", true}};
  auto [status, whole] = Post("/v1/completions", req.dump());
  ASSERT_EQ(status, 200);
  json streamed = req;
  streamed["stream"] = true;
  auto r = client_->Post("/v1/completions", streamed.dump(), "application/json");
  ASSERT_TRUE(r);
  std::string text;
  json tokens = json::array(), logprobs = json::array(), offsets = json::array();
  for (size_t pos = 0; (pos = r->body.find("data: {", pos)) != std::string::npos; ++pos) {
    const json c =
        json::parse(r->body.substr(pos + 6, r->body.find("\n\n", pos) - pos - 6))["choices"][0];
    text += c["text"].get<std::string>();
    for (size_t i = 0; i < c["logprobs"]["tokens"].size(); ++i) {
      tokens.push_back(c["logprobs"]["tokens"][i]);
      logprobs.push_back(c["logprobs"]["token_logprobs"][i]);
      offsets.push_back(c["logprobs"]["text_offset"][i]);
    }
  }
  const json& w = whole["choices"][0];
  EXPECT_EQ(text, w["text"]);
  EXPECT_EQ(text.substr(0, 5), "Hello");  // echo
  EXPECT_EQ(tokens, w["logprobs"]["tokens"]);
  EXPECT_EQ(offsets, w["logprobs"]["text_offset"]);
  ASSERT_EQ(logprobs.size(), w["logprobs"]["token_logprobs"].size());
  for (size_t i = 1; i < logprobs.size(); ++i) {
    EXPECT_NEAR(logprobs[i].get<double>(), w["logprobs"]["token_logprobs"][i].get<double>(), 1e-6);
  }
}

TEST_F(ServerTest, ChatLogprobsAreOpenAIsShapeAndAgreeWithCompletions) {
  auto [status, chat] =
      Post("/v1/chat/completions", R"({"messages": [{"role": "user", "content": "Hi"}],
      "max_completion_tokens": 5, "temperature": 0, "ignore_eos": true, "logprobs": true, "top_logprobs": 3})");
  ASSERT_EQ(status, 200) << chat.dump();
  const json& content = chat["choices"][0]["logprobs"]["content"];
  ASSERT_EQ(content.size(), 5u);
  // The same prompt as token ids through /v1/completions.
  auto [st, ids] = Post("/tokenize", R"({"messages": [{"role": "user", "content": "Hi"}]})");
  ASSERT_EQ(st, 200);
  auto [st2, cmpl] = Post("/v1/completions", json({{"prompt", ids["tokens"]},
                                                   {"max_tokens", 5},
                                                   {"temperature", 0},
                                                   {"ignore_eos", true},
                                                   {"logprobs", 3}})
                                                 .dump());
  ASSERT_EQ(st2, 200);
  std::string text;
  for (size_t t = 0; t < 5; ++t) {
    const json& e = content[t];
    ASSERT_EQ(e["top_logprobs"].size(), 3u);
    EXPECT_EQ(e["token"], cmpl["choices"][0]["logprobs"]["tokens"][t]);
    EXPECT_NEAR(e["logprob"].get<double>(),
                cmpl["choices"][0]["logprobs"]["token_logprobs"][t].get<double>(), 1e-5);
    EXPECT_EQ(e["top_logprobs"][0]["token"], e["token"]);  // greedy: the most likely token
    EXPECT_GE(e["top_logprobs"][0]["logprob"].get<double>(),
              e["top_logprobs"][1]["logprob"].get<double>());
    std::string bytes;
    for (const auto& b : e["bytes"]) bytes += static_cast<char>(b.get<int>());
    EXPECT_EQ(bytes, e["token"].get<std::string>());
    text += bytes;
  }
  EXPECT_EQ(text, chat["choices"][0]["message"]["content"]);
  // logprobs are refused where vLLM refuses them.
  EXPECT_EQ(Post("/v1/chat/completions",
                 R"({"messages": [{"role": "user", "content": "Hi"}], "top_logprobs": 2})")
                .first,
            400);
  EXPECT_EQ(
      Post("/v1/completions", R"({"prompt": "Hi", "prompt_logprobs": 1, "stream": true})").first,
      400);
}

TEST_F(ServerTest, GenerationConfigDefaultsApplyUnlessTheRequestSetsThem) {
  StopServer();
  server::ServerConfig sc = DefaultConfig();
  // As generation_config.json {"temperature": 0, "max_new_tokens": 3} gives them.
  GenerationConfig gen;
  gen.temperature = 0.0;
  gen.max_new_tokens = 3;
  sc.sampling_defaults = SamplingDefaults(gen);
  StartServer(sc);
  httplib::Client c("127.0.0.1", port_);
  c.set_bearer_token_auth("secret");
  auto post = [&](const std::string& body) {
    return json::parse(c.Post("/v1/completions", body, "application/json")->body);
  };
  // Greedy by default: equals the offline greedy run; max_tokens caps at max_new_tokens.
  json r = post(R"({"prompt": "Hello", "max_tokens": 12, "ignore_eos": true})");
  EXPECT_EQ(r["usage"]["completion_tokens"], 3);
  EXPECT_EQ(r["choices"][0]["text"], json(Offline("Hello", 3)));
  r = post(R"({"prompt": "Hello", "max_tokens": 2, "ignore_eos": true})");
  EXPECT_EQ(r["usage"]["completion_tokens"], 2);
}

TEST_F(ServerTest, ShutdownFinishesRequestsInFlightWithinTheGrace) {
  std::thread slow([&] {
    auto r = client_->Post(
        "/v1/completions",
        R"({"prompt": "Hi", "max_tokens": 500, "n": 4, "temperature": 0, "ignore_eos": true})",
        "application/json");
    ASSERT_TRUE(r);
    const json body = json::parse(r->body);
    ASSERT_EQ(body["choices"].size(), 4u);
    for (const json& c : body["choices"]) EXPECT_EQ(c["finish_reason"], "length");
  });
  WaitUntilRunning();
  std::thread shutdown([&] { server_->Shutdown(std::chrono::seconds(20)); });
  // While it drains, new requests are turned away.
  httplib::Client late("127.0.0.1", port_);
  int status = 0;
  for (int i = 0; i < 1000 && status != 503; ++i) {
    auto r = late.Get("/v1/models");
    status = r ? r->status : 0;
  }
  EXPECT_EQ(status, 503);
  slow.join();
  shutdown.join();
  thread_.join();  // Listen returned
}

TEST_F(ServerTest, ShutdownAbortsWhatTheGraceDoesNotCover) {
  std::thread slow([&] {
    auto r = client_->Post(
        "/v1/completions",
        R"({"prompt": "Hi", "max_tokens": 500, "n": 16, "ignore_eos": true, "stream": true})",
        "application/json");
    ASSERT_TRUE(r) << httplib::to_string(r.error());
    EXPECT_NE(r->body.find("\"finish_reason\":\"abort\""), std::string::npos);
    EXPECT_NE(r->body.find("data: [DONE]"), std::string::npos);
  });
  WaitUntilRunning();
  server_->Shutdown(std::chrono::milliseconds(0));
  slow.join();
  thread_.join();
}

// Byte-level tokens that do not form UTF-8 read U+FFFD, as Hugging Face decodes them, streamed or
// not: never an error or an invalid JSON string. The reference is Python's
// bytes(greedy_ids).decode("utf-8", "replace") of the PyTorch golden's 32 greedy tokens.
TEST_F(ServerTest, InvalidUtf8IsReplacedAsHuggingFaceDecodes) {
  const json golden = testing::ReadJson(testing::ModelsDir() / "llama-gqa-f32" / "golden.json");
  const std::string want = json::parse(
      R"("2G\u0300\u001a\ufffd\\.\ufffd2G\ufffd2\ufffd2\ufffd\u0016\ufffd\u001a\ufffd\u00112)\ufffd\u001dN\ufffdK\ufffd\u0451\ufffd")");
  json req = {{"prompt", golden["prompt_ids"]},
              {"max_tokens", 32},
              {"temperature", 0},
              {"ignore_eos", true}};
  auto [status, body] = Post("/v1/completions", req.dump());
  ASSERT_EQ(status, 200) << body.dump();
  EXPECT_EQ(body["choices"][0]["text"], want);
  req["stream"] = true;
  auto r = client_->Post("/v1/completions", req.dump(), "application/json");
  ASSERT_TRUE(r);
  std::string text;
  for (size_t pos = 0; (pos = r->body.find("data: {", pos)) != std::string::npos; ++pos) {
    const json chunk = json::parse(
        r->body.substr(pos + 6, r->body.find("\n\n", pos) - pos - 6));  // throws if invalid
    text += chunk["choices"][0]["text"].get<std::string>();
  }
  EXPECT_EQ(text, want);
}

}  // namespace
}  // namespace loom
