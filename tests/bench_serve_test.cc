// `loom bench serve` (the binary) against the OpenAI server in-process on a loopback port, with a
// tiny checkpoint and a byte tokenizer: every request and token counted, percentiles ordered,
// chat and Poisson arrivals, failed requests reported; a server that is not there is one
// error line.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <thread>

#include "engine/llm.h"
#include "server/server.h"
#include "server_fixture.h"
#include "test_util.h"

namespace loom {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using testing::RunLoom;

class BenchServeTest : public testing::TinyServerTest {
 protected:
  void SetUp() override {
    TinyServerTest::SetUp();
    url_ = "http://127.0.0.1:" + std::to_string(port_);
  }

  testing::CommandResult Bench(const std::string& flags) {
    return RunLoom("bench serve --base-url " + url_ + " " + flags);
  }

  std::string url_;
};

void ExpectOrderedPercentiles(const json& r) {
  for (const char* m : {"ttft", "tpot", "itl", "e2el"}) {
    const std::string k = std::string("_") + m + "_ms";
    EXPECT_EQ(r["median" + k], r["p50" + k]) << m;
    EXPECT_LE(r["p50" + k].get<double>(), r["p90" + k].get<double>()) << m;
    EXPECT_LE(r["p90" + k].get<double>(), r["p99" + k].get<double>()) << m;
    EXPECT_GE(r["std" + k].get<double>(), 0) << m;
  }
}

TEST_F(BenchServeTest, CompletionsCountEveryRequestAndToken) {
  const testing::CommandResult c = Bench(
      "--api-key secret --num-prompts 8 --max-concurrency 4 --random-input-len 16 "
      "--random-output-len 8 --json");
  ASSERT_EQ(c.exit_code, 0) << c.err;
  EXPECT_EQ(c.err, "");
  const json r = json::parse(c.out);
  EXPECT_EQ(r["model"], "tiny");  // from GET /v1/models
  EXPECT_EQ(r["completed"], 8);
  EXPECT_EQ(r["failed"], 0);
  EXPECT_TRUE(r["first_error"].is_null());
  EXPECT_EQ(r["max_concurrency"], 4);
  EXPECT_EQ(r["request_rate"], "inf");
  EXPECT_EQ(r["total_input_tokens"], 8 * 16);
  EXPECT_EQ(r["total_output_tokens"], 8 * 8);
  const double duration = r["duration"].get<double>();
  ASSERT_GT(duration, 0);
  EXPECT_NEAR(r["output_throughput"].get<double>(), 64 / duration, 1e-6);
  EXPECT_NEAR(r["request_throughput"].get<double>(), 8 / duration, 1e-6);
  EXPECT_GT(r["mean_ttft_ms"].get<double>(), 0);
  EXPECT_GT(r["p50_ttft_ms"].get<double>(), 0);
  EXPECT_GT(r["mean_tpot_ms"].get<double>(), 0);
  EXPECT_GE(r["p50_e2el_ms"].get<double>(), r["p50_ttft_ms"].get<double>());
  EXPECT_LE(r["p99_e2el_ms"].get<double>(), 1e3 * duration);
  ExpectOrderedPercentiles(r);
}

TEST_F(BenchServeTest, ChatWithPoissonArrivalsAndTheKeyFromTheEnvironment) {
  setenv("OPENAI_API_KEY", "secret", 1);
  const testing::CommandResult c = Bench(
      "--endpoint /v1/chat/completions --num-prompts 4 --random-input-len 8 --random-output-len 4 "
      "--request-rate 200 --seed 7 --json");
  unsetenv("OPENAI_API_KEY");
  ASSERT_EQ(c.exit_code, 0) << c.err;
  const json r = json::parse(c.out);
  EXPECT_EQ(r["completed"], 4) << r["first_error"];
  EXPECT_EQ(r["total_output_tokens"], 4 * 4);
  EXPECT_GT(r["total_input_tokens"].get<int>(), 4 * 8);  // the template's tokens too
  EXPECT_EQ(r["request_rate"], 200.0);
  EXPECT_TRUE(r["max_concurrency"].is_null());
  ExpectOrderedPercentiles(r);
}

TEST_F(BenchServeTest, FailedRequestsAreCountedWithTheFirstError) {
  const testing::CommandResult c = Bench(
      "--api-key secret --model nope --num-prompts 3 --random-input-len 4 --random-output-len 2");
  ASSERT_EQ(c.exit_code, 0) << c.err;
  EXPECT_NE(c.out.find("============ Serving Benchmark Result ============"), std::string::npos)
      << c.out;
  EXPECT_NE(c.out.find("Successful requests:                     0"), std::string::npos) << c.out;
  EXPECT_NE(c.out.find("Failed requests:                         3"), std::string::npos) << c.out;
  EXPECT_NE(c.out.find("First error: HTTP 404: "), std::string::npos) << c.out;
  EXPECT_NE(c.out.find("does not exist"), std::string::npos) << c.out;

  const testing::CommandResult no_key =
      Bench("--num-prompts 2 --random-input-len 4 --random-output-len 2 --json");
  ASSERT_EQ(no_key.exit_code, 1);  // GET /v1/models needs the key
  EXPECT_NE(no_key.err.find("HTTP 401"), std::string::npos) << no_key.err;
}

void ExpectOneLineError(const testing::CommandResult& r, const std::string& needle) {
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(r.err.rfind("error: ", 0), 0u) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  EXPECT_NE(r.err.find(needle), std::string::npos) << "missing '" << needle << "' in: " << r.err;
}

TEST(BenchServe, UnreachableServerIsOneErrorLine) {
  // A port that is bound but not listening: connections are refused, and no one else can take it.
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  socklen_t len = sizeof(addr);
  ASSERT_EQ(getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len), 0);
  const std::string url = "http://127.0.0.1:" + std::to_string(ntohs(addr.sin_port));
  ExpectOneLineError(RunLoom("bench serve --base-url " + url + " --num-prompts 2"),
                     "cannot reach " + url);
  ExpectOneLineError(RunLoom("bench serve --base-url " + url + " --model m --json"),
                     "cannot reach " + url);
  close(fd);

  ExpectOneLineError(RunLoom("bench serve --endpoint /v1/embeddings"), "--endpoint");
  ExpectOneLineError(RunLoom("bench serve --request-rate 0"), "--request-rate");
  ExpectOneLineError(RunLoom("bench serve --max-concurrency 0"), "--max-concurrency");
}

}  // namespace
}  // namespace loom
