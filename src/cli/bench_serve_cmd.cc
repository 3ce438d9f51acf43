// `loom bench serve`: random prompts against a running OpenAI-compatible server (Loom, vLLM, ...),
// reporting throughput and latency percentiles like vLLM's `vllm bench serve`:
//   loom bench serve --base-url http://127.0.0.1:8000 --num-prompts 64 --max-concurrency 16
// One std::thread per in-flight request, each with its own HTTP client. Every request streams
// (SSE), so time to first token and the gaps between chunks are what a client sees.
#include <fmt/format.h>
#include <httplib.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <limits>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <random>
#include <set>
#include <string_view>
#include <system_error>
#include <thread>
#include <utility>

#include "cli/commands.h"

namespace loom::cli {
namespace {

using Clock = std::chrono::steady_clock;
using nlohmann::json;

struct ServeBenchOptions {
  std::string base_url = "http://127.0.0.1:8000";
  std::string model;  // empty: the first id of GET /v1/models
  std::string endpoint = "/v1/completions";
  int num_prompts = 64;
  std::optional<int> max_concurrency;  // unset: every request goes out at its arrival time
  double request_rate = std::numeric_limits<double>::infinity();  // requests/s, Poisson
  uint64_t seed = 0;
  int input_len = 128;  // prompt tokens
  int output_len = 64;  // generated tokens per request (ignore_eos)
  std::string api_key;
  bool json = false;
};

double Seconds(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

// Prompt text decoded from random ids need not be valid UTF-8.
std::string Dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

// An error body as one short line: OpenAI's error.message if there is one.
std::string ErrorText(const std::string& body) {
  const json j = json::parse(body, nullptr, false);
  std::string s = body;
  if (j.is_object() && j.contains("error")) {
    const json& e = j["error"];
    s = e.is_object() && e.contains("message") && e["message"].is_string()
            ? e["message"].get<std::string>()
            : Dump(e);
  }
  std::replace(s.begin(), s.end(), '\n', ' ');
  std::replace(s.begin(), s.end(), '\r', ' ');
  return s.size() > 300 ? s.substr(0, 300) + "..." : s;
}

// httplib names its errors by enum ("Connection", "Read").
std::string HttpError(httplib::Error e) { return httplib::to_string(e) + " error"; }

// The server: scheme://host:port, plus the path it is mounted under (usually none).
struct Target {
  std::string origin;
  std::string prefix;
  std::string api_key;

  std::unique_ptr<httplib::Client> Connect(time_t read_timeout_s) const {
    auto c = std::make_unique<httplib::Client>(origin);
    c->set_connection_timeout(10);
    c->set_read_timeout(read_timeout_s);
    // As vLLM's aiohttp session and the OpenAI SDKs: reused connections, no Nagle delay on the
    // request (else its body waits ~40 ms for the server's delayed ACK of the headers).
    c->set_keep_alive(true);
    c->set_tcp_nodelay(true);
    if (!api_key.empty()) c->set_bearer_token_auth(api_key);
    return c;
  }
};

Result<Target> ParseBaseUrl(const std::string& url, const std::string& api_key) {
  const size_t scheme = url.find("://");
  const size_t slash = url.find('/', scheme == std::string::npos ? 0 : scheme + 3);
  Target t{url.substr(0, slash), slash == std::string::npos ? "" : url.substr(slash), api_key};
  while (!t.prefix.empty() && t.prefix.back() == '/') t.prefix.pop_back();
  if (!httplib::Client(t.origin).is_valid()) {
    return InvalidArgument("--base-url must look like http://HOST:PORT, got '{}'", url);
  }
  return t;
}

// GET (body null) or POST of a small JSON request: model list, tokenizer.
Result<json> Call(const Target& t, const std::string& path, const json& body) {
  std::unique_ptr<httplib::Client> c = t.Connect(60);
  httplib::Result r = body.is_null() ? c->Get(t.prefix + path)
                                     : c->Post(t.prefix + path, Dump(body), "application/json");
  if (!r) return Unavailable("cannot reach {}{}: {}", t.origin, t.prefix, HttpError(r.error()));
  const std::string what = fmt::format("{} {}", body.is_null() ? "GET" : "POST", path);
  if (r->status != 200) return Unavailable("{}: HTTP {}: {}", what, r->status, ErrorText(r->body));
  json j = json::parse(r->body, nullptr, false);
  if (!j.is_object()) return Unavailable("{}: the reply is not a JSON object", what);
  return j;
}

Result<std::vector<int32_t>> Tokenize(const Target& t, const std::string& text) {
  LOOM_ASSIGN_OR_RETURN(json j, Call(t, "/tokenize", {{"prompt", text}}));
  if (!j.contains("tokens") || !j["tokens"].is_array())
    return Unavailable("POST /tokenize: no `tokens` in the reply");
  std::vector<int32_t> ids;
  for (const json& id : j["tokens"]) {
    if (!id.is_number_integer()) return Unavailable("POST /tokenize: `tokens` holds a non-integer");
    ids.push_back(id.get<int32_t>());
  }
  return ids;
}

constexpr const char* kFiller =
    "In the beginning the river ran quietly past the old mill, and the people of the valley came "
    "down each morning to draw water, to trade bread and wool, and to talk of the weather. Seven "
    "bridges crossed it; the oldest was made of grey stone, the newest of painted iron. Children "
    "counted boats, merchants weighed grain, and a clockmaker named Thomas repaired every watch "
    "in town for a fair price. When winter came, snow covered the fields, lamps burned late, and "
    "the whole village gathered to sing, eat, read letters from distant cities and plan the "
    "spring.";

// Prompt ids come from the server's own tokenizer: the distinct ids of an English filler text,
// minus whatever it adds to an empty string (BOS). Unlike a fixed id range such as [3, 200),
// they are in range for any vocabulary (a 256-token test model too), are never special or
// unused ids, and decode to plain text for the chat endpoint. Each prompt draws its ids
// uniformly from this set, so prompts share no prefix beyond chance and prefix caching does not
// flatter the figures.
Result<std::vector<int32_t>> TokenPool(const Target& t) {
  LOOM_ASSIGN_OR_RETURN(std::vector<int32_t> filler, Tokenize(t, kFiller));
  LOOM_ASSIGN_OR_RETURN(std::vector<int32_t> added, Tokenize(t, ""));
  std::set<int32_t> pool(filler.begin(), filler.end());
  for (int32_t id : added) pool.erase(id);
  if (pool.empty()) return Unavailable("POST /tokenize: the filler text gave no tokens");
  return std::vector<int32_t>(pool.begin(), pool.end());
}

// What one streamed request measured; times in seconds from sending it.
struct RequestResult {
  bool ok = false;
  std::string error;
  double ttft = 0, e2e = 0;
  std::vector<double> itl;                         // gaps between consecutive content chunks
  int64_t prompt_tokens = -1, output_tokens = -1;  // from `usage`; -1: not reported
  int64_t chunks = 0;                              // SSE chunks that carried text
};

// Text (or token ids) in one SSE chunk's first choice: `text` for completions, `delta.content`
// (or reasoning) for chat; the chat stream's opening role-only chunk carries none.
bool HasContent(const json& chunk) {
  if (!chunk.contains("choices") || !chunk["choices"].is_array() || chunk["choices"].empty())
    return false;
  const json& c = chunk["choices"][0];
  if (!c.is_object()) return false;
  auto non_empty = [](const json& o, const char* key) {
    return o.contains(key) &&
           ((o[key].is_string() && !o[key].get_ref<const std::string&>().empty()) ||
            (o[key].is_array() && !o[key].empty()));
  };
  if (non_empty(c, "text") || non_empty(c, "token_ids")) return true;
  if (!c.contains("delta") || !c["delta"].is_object()) return false;
  const json& d = c["delta"];
  return non_empty(d, "content") || non_empty(d, "reasoning_content") || non_empty(d, "reasoning");
}

void OnChunk(const json& chunk, double now, double& last, RequestResult& r) {
  if (!chunk.is_object()) {
    if (r.error.empty()) r.error = "a stream chunk is not a JSON object";
    return;
  }
  if (chunk.contains("error")) {  // vLLM reports a failure mid-stream as a chunk
    if (r.error.empty()) r.error = ErrorText(Dump(chunk));
    return;
  }
  if (HasContent(chunk)) {
    if (r.chunks++ == 0) {
      r.ttft = now;
    } else {
      r.itl.push_back(now - last);
    }
    last = now;
  }
  if (chunk.contains("usage") && chunk["usage"].is_object()) {
    const json& u = chunk["usage"];
    if (u.contains("completion_tokens") && u["completion_tokens"].is_number_integer()) {
      r.output_tokens = u["completion_tokens"].get<int64_t>();
    }
    if (u.contains("prompt_tokens") && u["prompt_tokens"].is_number_integer()) {
      r.prompt_tokens = u["prompt_tokens"].get<int64_t>();
    }
  }
}

// Sends one streaming request and times its SSE chunks as they arrive.
RequestResult Send(httplib::Client& client, const std::string& path, const std::string& body) {
  RequestResult r;
  std::string pending;  // received bytes not yet split into lines
  std::string error_body;
  int status = 0;
  double last = 0;
  httplib::Request req;
  req.method = "POST";
  req.path = path;
  req.body = body;
  req.set_header("Content-Type", "application/json");
  req.set_header("Accept", "text/event-stream");
  const Clock::time_point t0 = Clock::now();
  req.response_handler = [&](const httplib::Response& res) {
    status = res.status;
    return true;
  };
  req.content_receiver = [&](const char* data, size_t n, uint64_t, uint64_t) {
    const double now = Seconds(t0, Clock::now());
    if (status != 200) {
      error_body.append(data, std::min(n, 4096 - std::min<size_t>(4096, error_body.size())));
      return true;
    }
    pending.append(data, n);
    size_t start = 0;
    for (size_t nl; (nl = pending.find('\n', start)) != std::string::npos; start = nl + 1) {
      std::string_view line(pending.data() + start, nl - start);
      if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
      if (line.substr(0, 5) != "data:") continue;  // blank separators, comments, `event:`
      line.remove_prefix(line.size() > 5 && line[5] == ' ' ? 6 : 5);
      if (line == "[DONE]") continue;
      OnChunk(json::parse(line, nullptr, false), now, last, r);
    }
    pending.erase(0, start);
    return true;
  };
  httplib::Response res;
  httplib::Error err = httplib::Error::Success;
  const bool sent = client.send(req, res, err);
  r.e2e = Seconds(t0, Clock::now());
  if (!sent) {
    r.error = HttpError(err);
  } else if (res.status != 200) {
    r.error = fmt::format("HTTP {}: {}", res.status, ErrorText(error_body));
  } else if (r.error.empty() && r.chunks == 0) {
    r.error = "the stream carried no text";
  }
  r.ok = r.error.empty();
  if (r.ok && r.output_tokens < 0) r.output_tokens = r.chunks;  // no usage: one token per chunk
  return r;
}

// Mean, standard deviation and numpy-style (linearly interpolated) percentiles, in ms.
json Summarize(std::vector<double> seconds) {
  std::sort(seconds.begin(), seconds.end());
  auto pct = [&](double p) {
    if (seconds.empty()) return 0.0;
    const double rank = p / 100 * static_cast<double>(seconds.size() - 1);
    const size_t lo = static_cast<size_t>(rank);
    const size_t hi = std::min(lo + 1, seconds.size() - 1);
    return 1e3 * (seconds[lo] + (seconds[hi] - seconds[lo]) * (rank - static_cast<double>(lo)));
  };
  double mean = 0, var = 0;
  for (double s : seconds) mean += s / static_cast<double>(seconds.size());
  for (double s : seconds) var += (s - mean) * (s - mean) / static_cast<double>(seconds.size());
  return {{"mean", 1e3 * mean}, {"median", pct(50)}, {"std", 1e3 * std::sqrt(var)},
          {"p50", pct(50)},     {"p90", pct(90)},    {"p99", pct(99)}};
}

struct Metric {
  const char* key;
  const char* title;
  const char* abbrev;
};
constexpr Metric kMetrics[] = {{"ttft", "Time to First Token", "TTFT"},
                               {"tpot", "Time per Output Token (excl. 1st token)", "TPOT"},
                               {"itl", "Inter-token Latency", "ITL"},
                               {"e2el", "End-to-end Latency", "E2EL"}};

// vLLM's result keys (benchmark_serving.py), so tools that read its JSON read ours.
json Aggregate(const ServeBenchOptions& o, const std::string& model,
               const std::vector<RequestResult>& results, double duration) {
  int64_t completed = 0, input_tokens = 0, output_tokens = 0;
  std::map<std::string, std::vector<double>> samples;
  std::string first_error;
  for (const RequestResult& r : results) {
    if (!r.ok) {
      if (first_error.empty()) first_error = r.error;
      continue;
    }
    ++completed;
    input_tokens += r.prompt_tokens >= 0 ? r.prompt_tokens : o.input_len;
    output_tokens += r.output_tokens;
    samples["ttft"].push_back(r.ttft);
    samples["e2el"].push_back(r.e2e);
    if (r.output_tokens > 1)
      samples["tpot"].push_back((r.e2e - r.ttft) / static_cast<double>(r.output_tokens - 1));
    samples["itl"].insert(samples["itl"].end(), r.itl.begin(), r.itl.end());
  }
  json out = {
      {"base_url", o.base_url},
      {"endpoint", o.endpoint},
      {"model", model},
      {"num_prompts", o.num_prompts},
      {"random_input_len", o.input_len},
      {"random_output_len", o.output_len},
      {"request_rate", std::isinf(o.request_rate) ? json("inf") : json(o.request_rate)},
      {"max_concurrency", o.max_concurrency ? json(*o.max_concurrency) : json(nullptr)},
      {"seed", o.seed},
      {"duration", duration},
      {"completed", completed},
      {"failed", static_cast<int64_t>(results.size()) - completed},
      {"first_error", first_error.empty() ? json(nullptr) : json(first_error)},
      {"total_input_tokens", input_tokens},
      {"total_output_tokens", output_tokens},
      {"request_throughput", static_cast<double>(completed) / duration},
      {"output_throughput", static_cast<double>(output_tokens) / duration},
      {"total_token_throughput", static_cast<double>(input_tokens + output_tokens) / duration}};
  for (const Metric& m : kMetrics) {
    const json summary = Summarize(samples[m.key]);  // a temporary would die before the loop
    for (const auto& [stat, value] : summary.items()) {
      out[fmt::format("{}_{}_ms", stat, m.key)] = value;
    }
  }
  return out;
}

constexpr std::pair<const char*, const char*> kTableStats[] = {
    {"mean", "Mean"}, {"median", "Median"}, {"p90", "P90"}, {"p99", "P99"}};

void PrintTable(const json& r) {
  auto row = [](const std::string& label, const json& v) {
    if (v.is_number_float()) {
      fmt::print("{:<40} {:.2f}\n", label, v.get<double>());
    } else {
      fmt::print("{:<40} {}\n", label, v.is_string() ? v.get<std::string>() : v.dump());
    }
  };
  fmt::print("{:=^50}\n", " Serving Benchmark Result ");
  row("Successful requests:", r["completed"]);
  row("Failed requests:", r["failed"]);
  if (!r["max_concurrency"].is_null()) row("Maximum request concurrency:", r["max_concurrency"]);
  row("Request rate configured (RPS):", r["request_rate"]);
  row("Benchmark duration (s):", r["duration"]);
  row("Total input tokens:", r["total_input_tokens"]);
  row("Total generated tokens:", r["total_output_tokens"]);
  row("Request throughput (req/s):", r["request_throughput"]);
  row("Output token throughput (tok/s):", r["output_throughput"]);
  row("Total Token throughput (tok/s):", r["total_token_throughput"]);
  for (const Metric& m : kMetrics) {
    fmt::print("{:-^50}\n", m.title);
    for (const auto& [stat, name] : kTableStats) {
      row(fmt::format("{} {} (ms):", name, m.abbrev), r[fmt::format("{}_{}_ms", stat, m.key)]);
    }
  }
  fmt::print("{:=^50}\n", "");
  if (!r["first_error"].is_null())
    fmt::print("First error: {}\n", r["first_error"].get<std::string>());
}

Status BenchServe(const ServeBenchOptions& o) {
  const bool chat = o.endpoint == "/v1/chat/completions";
  if (!chat && o.endpoint != "/v1/completions") {
    return InvalidArgument("--endpoint must be /v1/completions or /v1/chat/completions, got '{}'",
                           o.endpoint);
  }
  if (!(o.request_rate > 0))
    return InvalidArgument("--request-rate must be positive (inf: all at once)");
  LOOM_ASSIGN_OR_RETURN(const Target target, ParseBaseUrl(o.base_url, o.api_key));

  std::string model = o.model;
  if (model.empty()) {
    LOOM_ASSIGN_OR_RETURN(json models, Call(target, "/v1/models", nullptr));
    const json& data = models.value("data", json());
    if (!data.is_array() || data.empty() || !data[0].is_object() ||
        !data[0].value("id", json()).is_string()) {
      return Unavailable("GET /v1/models lists no model; pass --model");
    }
    model = data[0]["id"].get<std::string>();
  }

  // Prompts and arrival times are fixed (seeded) before the clock starts.
  LOOM_ASSIGN_OR_RETURN(const std::vector<int32_t> pool, TokenPool(target));
  std::mt19937_64 rng(o.seed);
  std::uniform_int_distribution<size_t> pick(0, pool.size() - 1);
  std::vector<std::string> bodies;
  for (int i = 0; i < o.num_prompts; ++i) {
    std::vector<int32_t> ids(static_cast<size_t>(o.input_len));
    for (int32_t& id : ids) id = pool[pick(rng)];
    json body = {{"model", model},
                 {"temperature", 0},
                 {"stream", true},
                 {"stream_options", {{"include_usage", true}}},
                 {"ignore_eos", true}};
    if (chat) {
      LOOM_ASSIGN_OR_RETURN(json text, Call(target, "/detokenize", {{"tokens", ids}}));
      if (!text.value("prompt", json()).is_string())
        return Unavailable("POST /detokenize: no `prompt` in the reply");
      body["messages"] = json::array({{{"role", "user"}, {"content", text["prompt"]}}});
      body["max_completion_tokens"] = o.output_len;  // chat's name for max_tokens
    } else {
      body["prompt"] = ids;
      body["max_tokens"] = o.output_len;
    }
    bodies.push_back(Dump(body));
  }
  std::vector<double> arrival(bodies.size(), 0.0);  // seconds after the start
  std::exponential_distribution<double> gap(std::isinf(o.request_rate) ? 1.0 : o.request_rate);
  for (size_t i = 1; i < arrival.size() && !std::isinf(o.request_rate); ++i)
    arrival[i] = arrival[i - 1] + gap(rng);

  // Workers take requests in arrival order; with --max-concurrency a request that has arrived
  // waits for a free worker (vLLM's semaphore).
  std::vector<RequestResult> results(bodies.size());
  std::atomic<size_t> next{0};
  const Clock::time_point start = Clock::now();
  auto work = [&] {
    std::unique_ptr<httplib::Client> client = target.Connect(24 * 3600);
    for (size_t i; (i = next++) < bodies.size();) {
      std::this_thread::sleep_until(start + std::chrono::duration_cast<Clock::duration>(
                                                std::chrono::duration<double>(arrival[i])));
      results[i] = Send(*client, target.prefix + o.endpoint, bodies[i]);
    }
  };
  const int n_workers = std::min(o.num_prompts, o.max_concurrency.value_or(o.num_prompts));
  std::vector<std::thread> workers;
  for (int w = 0; w < n_workers; ++w) {
    try {
      workers.emplace_back(work);
    } catch (const std::system_error&) {  // out of threads: the ones running share the rest
      if (workers.empty()) return Unavailable("cannot start a worker thread");
      break;
    }
  }
  for (std::thread& t : workers) t.join();
  const double duration = Seconds(start, Clock::now());

  const json report = Aggregate(o, model, results, duration);
  if (o.json) {
    fmt::print("{}\n", Dump(report));
  } else {
    PrintTable(report);
  }
  return Status::Ok();
}

}  // namespace

void AddBenchServeCommand(CLI::App& bench, std::function<Status()>& run) {
  CLI::App* cmd =
      bench.add_subcommand("serve", "Latency and throughput of a running OpenAI-compatible server");
  auto o = std::make_shared<ServeBenchOptions>();
  cmd->add_option("--base-url", o->base_url, "Server to load, http://HOST:PORT")
      ->capture_default_str();
  cmd->add_option("--model", o->model, "Model name (default: the first of GET /v1/models)");
  cmd->add_option("--endpoint", o->endpoint, "/v1/completions or /v1/chat/completions")
      ->capture_default_str();
  cmd->add_option("--num-prompts", o->num_prompts, "Requests to send")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  cmd->add_option("--max-concurrency", o->max_concurrency,
                  "Requests in flight at most (default: unlimited)")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--request-rate", o->request_rate,
                  "Requests per second, Poisson arrivals (default: inf, all at once)");
  cmd->add_option("--seed", o->seed, "Seed for prompts and arrival times")->capture_default_str();
  cmd->add_option("--random-input-len", o->input_len, "Prompt tokens per request")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  cmd->add_option("--random-output-len", o->output_len, "Generated tokens per request")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  cmd->add_option("--api-key", o->api_key, "Bearer token (also OPENAI_API_KEY)")
      ->envname("OPENAI_API_KEY");
  cmd->add_flag("--json", o->json, "Print the result as one JSON object (vLLM's keys)");
  cmd->callback([&run, o] { run = [o] { return BenchServe(*o); }; });
}

}  // namespace loom::cli
