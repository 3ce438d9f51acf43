// The OpenAI-compatible server in-process on a loopback port, driven with an HTTP client:
// completions (plain and SSE) equal the offline engine, errors are OpenAI's JSON.
#include <gtest/gtest.h>
#include <httplib.h>

#include <thread>

#include "engine/llm.h"
#include "server/server.h"
#include "test_util.h"

namespace loom {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr const char* kChatMl =
    "{% for m in messages %}{{ '<|im_start|>' + m['role'] + '\\n' + m['content'] + '<|im_end|>\\n' }}{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";

class ServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    model_ = dir_.path() / "m";
    fs::copy(testing::ModelsDir() / "llama-gqa-f32", model_, fs::copy_options::recursive);
    testing::WriteByteTokenizer(model_);
    EngineConfig ec;
    ec.max_model_len = 512;
    ec.kv_cache_memory = 16 << 20;
    Result<std::unique_ptr<LLM>> llm = LLM::Load(model_, ec);
    ASSERT_TRUE(llm.ok()) << llm.status().message();
    server::ServerConfig sc;
    sc.host = "127.0.0.1";
    sc.port = 0;
    sc.served_model_name = "tiny";
    sc.api_key = "secret";
    sc.chat_template = kChatMl;
    server_ = std::make_unique<server::Server>(std::make_unique<AsyncEngine>(std::move(*llm)), sc);
    Result<int> port = server_->Bind();
    ASSERT_TRUE(port.ok());
    thread_ = std::thread([this] { server_->Listen(); });
    port_ = *port;
    client_ = std::make_unique<httplib::Client>("127.0.0.1", port_);
    client_->set_bearer_token_auth("secret");
    client_->set_read_timeout(30, 0);
  }
  void TearDown() override {
    server_->Stop();
    if (thread_.joinable()) thread_.join();
  }

  std::pair<int, json> Post(const std::string& path, const std::string& body) {
    httplib::Result r = client_->Post(path, body, "application/json");
    if (!r) return {0, json()};
    return {r->status, json::parse(r->body, nullptr, false)};
  }

  // What the offline engine generates for the same prompt (greedy).
  std::string Offline(const std::string& prompt, int max_tokens) {
    EngineConfig ec;
    ec.max_model_len = 512;
    ec.kv_cache_memory = 16 << 20;
    Result<std::unique_ptr<LLM>> loaded = LLM::Load(model_, ec);
    std::unique_ptr<LLM> llm = std::move(loaded).value();
    SamplingParams p = *SamplingParams::FromJson({{"temperature", 0}, {"max_tokens", max_tokens}, {"ignore_eos", true}});
    return (*llm->Generate({*llm->Encode(prompt)}, {p}))[0].outputs[0].text;
  }

  testing::TempDir dir_;
  fs::path model_;
  std::unique_ptr<server::Server> server_;
  std::thread thread_;
  std::unique_ptr<httplib::Client> client_;
  int port_ = 0;
};

TEST_F(ServerTest, CompletionEqualsOfflineGeneration) {
  auto [status, body] = Post("/v1/completions",
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
  auto r = client_->Post("/v1/completions",
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
}

TEST_F(ServerTest, ChatCompletionRendersTheTemplate) {
  auto [status, body] = Post("/v1/chat/completions",
                             R"({"messages": [{"role": "user", "content": "Hi"}], "max_completion_tokens": 6,
                                 "temperature": 0, "ignore_eos": true})");
  ASSERT_EQ(status, 200) << body.dump();
  EXPECT_EQ(body["object"], "chat.completion");
  EXPECT_EQ(body["choices"][0]["message"]["role"], "assistant");
  const std::string prompt = "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n";
  EXPECT_EQ(body["choices"][0]["message"]["content"], json(Offline(prompt, 6)));
  EXPECT_EQ(body["usage"]["prompt_tokens"], static_cast<int>(prompt.size()));  // one token per byte
  EXPECT_EQ(body["usage"]["completion_tokens"], 6);

  auto r = client_->Post("/v1/chat/completions",
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
  EXPECT_EQ(chat["count"], std::string("<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n").size());
  auto [st2, detok] = Post("/detokenize", R"({"tokens": [72, 105, 33]})");
  EXPECT_EQ(st2, 200);
  EXPECT_EQ(detok["prompt"], "Hi!");
  EXPECT_EQ(client_->Get("/health")->status, 200);
}

TEST_F(ServerTest, MetricsShowNothingHeldAfterRequests) {
  for (int i = 0; i < 3; ++i) ASSERT_EQ(Post("/v1/completions", R"({"prompt": "abc", "max_tokens": 4})").first, 200);
  auto r = client_->Get("/metrics");
  ASSERT_TRUE(r);
  EXPECT_NE(r->body.find("loom:kv_cache_usage_perc{model_name=\"tiny\"} 0\n"), std::string::npos) << r->body;
  EXPECT_NE(r->body.find("loom:generation_tokens_total{model_name=\"tiny\"} 12\n"), std::string::npos) << r->body;
  EXPECT_NE(r->body.find("loom:num_requests_running{model_name=\"tiny\"} 0\n"), std::string::npos) << r->body;
}

}  // namespace
}  // namespace loom
