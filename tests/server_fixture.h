// The tiny test checkpoint (llama-gqa-f32 with a byte-level tokenizer and a ChatML template)
// served in-process on a loopback port with the API key "secret". Shared by server_test and
// bench_serve_test.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <thread>

#include "engine/llm.h"
#include "server/server.h"
#include "test_util.h"

namespace loom::testing {

inline constexpr const char* kChatMl =
    "{% for m in messages %}{{ '<|im_start|>' + m['role'] + '\\n' + m['content'] + '<|im_end|>\\n' "
    "}}{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";

class TinyServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    model_ = dir_.path() / "m";
    std::filesystem::copy(ModelsDir() / "llama-gqa-f32", model_,
                          std::filesystem::copy_options::recursive);
    WriteByteTokenizer(model_);
    StartServer(DefaultConfig());
  }
  void TearDown() override { StopServer(); }

  static server::ServerConfig DefaultConfig() {
    server::ServerConfig sc;
    sc.host = "127.0.0.1";
    sc.port = 0;  // any free port
    sc.served_model_name = "tiny";
    sc.api_key = "secret";
    sc.chat_template = kChatMl;
    return sc;
  }
  static EngineConfig TinyEngineConfig() {
    EngineConfig ec;
    ec.max_model_len = 512;
    ec.kv_cache_memory = 16 << 20;
    return ec;
  }

  void StartServer(const server::ServerConfig& sc) {
    Result<std::unique_ptr<LLM>> llm = LLM::Load(model_, TinyEngineConfig());
    ASSERT_TRUE(llm.ok()) << llm.status().message();
    server_ = std::make_unique<server::Server>(std::make_unique<AsyncEngine>(std::move(*llm)), sc);
    Result<int> port = server_->Bind();
    ASSERT_TRUE(port.ok()) << port.status().message();
    port_ = *port;
    thread_ = std::thread([this] { server_->Listen(); });
  }
  void StopServer() {
    if (server_) server_->Stop();
    if (thread_.joinable()) thread_.join();
  }

  TempDir dir_;
  std::filesystem::path model_;
  std::unique_ptr<server::Server> server_;
  std::thread thread_;
  int port_ = 0;
};

}  // namespace loom::testing
