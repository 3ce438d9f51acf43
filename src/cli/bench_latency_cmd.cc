// `loom bench latency` and `loom bench throughput`, modelled on `vllm bench latency` /
// `vllm bench throughput`, on random token ids (no tokenizer needed):
//   loom bench latency --model DIR --batch-size 1 --input-len 512 --output-len 64 [--json]
//   loom bench throughput --model DIR --num-prompts 64 --input-len 128 --output-len 128 [--json]
// latency: B prompts of N tokens through the engine; prefill = until every sequence has its first
// token, decode = the remaining K-1 greedy steps. It also reports how close decode comes to the
// machine's memory bandwidth: the weight bytes one step reads (Model::WeightBytesPerToken) times
// steps/s, against a STREAM-like read with the same threads measured before and after each timed
// batch (the median of the batches' shares).
#include <fmt/format.h>
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <nlohmann/json.hpp>
#include <random>
#include <set>
#include <vector>

#include "cli/commands.h"
#include "cli/engine_flags.h"
#include "core/threads.h"
#include "engine/llm.h"
#include "kernels/dispatch.h"
#include "models/interfaces.h"

namespace loom::cli {
namespace {

using Clock = std::chrono::steady_clock;

double Seconds(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

constexpr int kReadPasses = 5;  // each read is the best of these passes

double Median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const size_t h = v.size() / 2;
  return v.size() % 2 ? v[h] : (v[h - 1] + v[h]) / 2;
}

// Sum of n floats with 64 independent accumulators (vectorized; one clone per ISA since this
// translation unit has no ISA flags), reading as fast as the kernels can.
__attribute__((target_clones("avx512f", "avx2", "default"))) float SumFloats(const float* p,
                                                                             size_t n) {
  float acc[64] = {};
  size_t i = 0;
  for (; i + 64 <= n; i += 64) {
    // The hardware prefetcher stops at each 4 KiB page, so ask for every line 2 KiB ahead (past
    // the end is harmless: prefetches never fault): the fastest plain read measured here, so
    // the decode's share of it is not flattered.
    for (int line = 0; line < 4; ++line) {
      __builtin_prefetch(
          reinterpret_cast<const char*>(reinterpret_cast<uintptr_t>(p + i) + 2048 + 64 * line));
    }
    for (int j = 0; j < 64; ++j) acc[j] += p[i + j];
  }
  float s = 0;
  for (; i < n; ++i) s += p[i];
  for (float a : acc) s += a;
  return s;
}

// STREAM-like read bandwidth in GB/s (1e9 bytes) of a buffer of `bytes`, each thread summing its
// contiguous share (the pages it first touched). The buffer is filled once and read again before
// and after every timed batch: this host's bandwidth swings by 1.5x within seconds, so a
// decode's share of it is taken against the reads made around it.
class ReadMeter {
 public:
  explicit ReadMeter(size_t bytes)
      : n_(bytes / sizeof(float) / 64 * 64),
        buf_(static_cast<float*>(std::aligned_alloc(64, n_ * sizeof(float))), &std::free) {
    if (!buf_) return;
#pragma omp parallel
    {
      const auto [b, e] = Range(omp_get_thread_num(), omp_get_num_threads());
      for (size_t i = b; i < e; ++i) buf_.get()[i] = static_cast<float>(i & 7);
    }
  }

  // The best of `passes` reads (0 if the buffer could not be allocated).
  double GbPerS(int passes) {
    if (!buf_) return 0;
    double best = 1e30;
    for (int pass = 0; pass < passes; ++pass) {
      float total = 0;
      const auto t0 = Clock::now();
#pragma omp parallel reduction(+ : total)
      {
        const auto [b, e] = Range(omp_get_thread_num(), omp_get_num_threads());
        total += SumFloats(buf_.get() + b, e - b);
      }
      best = std::min(best, Seconds(t0, Clock::now()));
      sink_ = sink_ + total;
    }
    return static_cast<double>(n_ * sizeof(float)) / best / 1e9;
  }

 private:
  std::pair<size_t, size_t> Range(int t, int nt) const {
    const size_t per = (n_ / 64 + nt - 1) / nt * 64;
    const size_t b = std::min(n_, per * t);
    return {b, std::min(n_, b + per)};
  }

  size_t n_;
  std::unique_ptr<float, decltype(&std::free)> buf_;
  volatile float sink_ = 0;
};

std::string QuantizationOf(const Model& model) {
  const auto* q = dynamic_cast<const SupportsQuant*>(&model);
  return q ? q->QuantMethod() : "";
}

std::vector<int32_t> RandomPrompt(std::mt19937& rng, int len, int64_t vocab) {
  std::uniform_int_distribution<int32_t> tok(0, static_cast<int32_t>(vocab - 1));
  std::vector<int32_t> ids(static_cast<size_t>(len));
  for (int32_t& t : ids) t = tok(rng);
  return ids;
}

struct LatencyOptions {
  std::string model;
  int batch_size = 8;
  int input_len = 32;
  int output_len = 128;
  int num_iters_warmup = 1;
  int num_iters = 3;
  int64_t read_buffer_mib = 1024;
  int threads = 0;
  bool json = false;
  EngineConfig engine;
  std::string policy = "default";
  bool no_prefix_caching = false;
};

struct Iteration {
  double prefill_s = 0;
  double decode_s = 0;
  int64_t decode_steps = 0;
  int64_t decode_tokens = 0;
};

// One batch from empty engine to finished. Fresh random prompts each time, so the prefix cache
// never serves an earlier iteration's blocks.
Result<Iteration> RunBatch(EngineCore& engine, const LatencyOptions& o, std::mt19937& rng,
                           int iter) {
  const int64_t vocab = engine.model().config().vocab_size;
  LOOM_ASSIGN_OR_RETURN(
      SamplingParams params,
      SamplingParams::FromJson(
          nlohmann::json{{"temperature", 0}, {"max_tokens", o.output_len}, {"ignore_eos", true}}));
  for (int b = 0; b < o.batch_size; ++b) {
    EngineRequest r;
    r.id = fmt::format("{}-{}", iter, b);
    r.prompt_ids = RandomPrompt(rng, o.input_len, vocab);
    r.params = params;
    LOOM_RETURN_IF_ERROR(engine.AddRequest(std::move(r)));
  }
  Iteration it;
  std::set<std::string> started;
  const auto t0 = Clock::now();
  while (static_cast<int>(started.size()) < o.batch_size && engine.HasUnfinished()) {
    LOOM_ASSIGN_OR_RETURN(std::vector<RequestOutput> out, engine.Step());
    for (const RequestOutput& r : out) {
      if (!r.new_token_ids.empty()) started.insert(r.id);
    }
  }
  const auto t1 = Clock::now();
  while (engine.HasUnfinished()) {
    LOOM_ASSIGN_OR_RETURN(std::vector<RequestOutput> out, engine.Step());
    ++it.decode_steps;
    for (const RequestOutput& r : out)
      it.decode_tokens += static_cast<int64_t>(r.new_token_ids.size());
  }
  const auto t2 = Clock::now();
  it.prefill_s = Seconds(t0, t1);
  it.decode_s = Seconds(t1, t2);
  return it;
}

Status BenchLatency(LatencyOptions o) {
  SetNumThreads(o.threads);
  FinishEngineFlags(o.engine, o.policy, o.no_prefix_caching);
  if (o.batch_size <= 0 || o.input_len <= 0 || o.output_len <= 0 || o.num_iters <= 0 ||
      o.num_iters_warmup < 0 || o.read_buffer_mib <= 0) {
    return InvalidArgument(
        "--batch-size, --input-len, --output-len, --num-iters and --read-buffer-mib must be "
        "positive");
  }
  LOOM_ASSIGN_OR_RETURN(std::unique_ptr<LLM> llm, LLM::Load(o.model, o.engine));
  EngineCore& engine = llm->engine();
  std::mt19937 rng(0);
  for (int i = 0; i < o.num_iters_warmup; ++i) {
    LOOM_RETURN_IF_ERROR(RunBatch(engine, o, rng, -1 - i).status());
  }
  const int64_t bytes_per_step = engine.model().WeightBytesPerToken();
  ReadMeter meter(static_cast<size_t>(o.read_buffer_mib) << 20);
  // reads[i] and reads[i + 1] bracket timed batch i; its share is against their mean.
  std::vector<double> reads = {meter.GbPerS(kReadPasses)};
  std::vector<double> prefill_tps, decode_tps, decode_sps, latency, fractions;
  int64_t decode_steps = 0;
  for (int i = 0; i < o.num_iters; ++i) {
    LOOM_ASSIGN_OR_RETURN(Iteration it, RunBatch(engine, o, rng, i));
    reads.push_back(meter.GbPerS(kReadPasses));
    prefill_tps.push_back(static_cast<double>(o.batch_size) * o.input_len / it.prefill_s);
    decode_tps.push_back(it.decode_steps ? it.decode_tokens / it.decode_s : 0.0);
    decode_sps.push_back(it.decode_steps ? it.decode_steps / it.decode_s : 0.0);
    latency.push_back(it.prefill_s + it.decode_s);
    const double read = (reads[reads.size() - 2] + reads.back()) / 2;
    fractions.push_back(
        read > 0 ? static_cast<double>(bytes_per_step) * decode_sps.back() / 1e9 / read : 0.0);
    decode_steps = it.decode_steps;
  }
  const Model& model = engine.model();
  const double steps_per_s = Median(decode_sps);
  const double weight_gb_per_s = static_cast<double>(bytes_per_step) * steps_per_s / 1e9;
  const double machine_gb_per_s = Median(reads);
  const double fraction = Median(fractions);
  const std::string dtype(DTypeName(model.weight_dtype()));
  const std::string quant = QuantizationOf(model);
  if (o.json) {
    nlohmann::ordered_json j = {
        {"model", o.model},
        {"batch_size", o.batch_size},
        {"input_len", o.input_len},
        {"output_len", o.output_len},
        {"num_iters", o.num_iters},
        {"threads", NumThreads()},
        {"isa", kernels::IsaName(kernels::ActiveIsa())},
        {"weights_dtype", dtype},
        {"quantization", quant},
        {"avg_latency_s", Median(latency)},
        {"prefill_tokens_per_s", Median(prefill_tps)},
        {"decode_tokens_per_s", Median(decode_tps)},
        {"decode_steps", decode_steps},
        {"decode_steps_per_s", steps_per_s},
        {"decode_weight_bytes_per_token", bytes_per_step},
        {"decode_weight_gb_per_s", weight_gb_per_s},
        {"machine_read_gb_per_s", machine_gb_per_s},
        {"machine_read_samples_gb_per_s", reads},
        {"read_buffer_mib", o.read_buffer_mib},
        {"bandwidth_fraction", fraction},
        {"bandwidth_fractions", fractions},
    };
    fmt::print("{}\n", j.dump());
    return Status::Ok();
  }
  fmt::print(
      "latency {} batch={} input={} output={} isa={} threads={} weights={}{} (median of {}):\n"
      "  end to end   {:.4g} s\n"
      "  prefill      {:.1f} tok/s\n"
      "  decode       {:.2f} tok/s ({:.2f} steps/s, {} steps)\n"
      "  weights/step {:.1f} MB -> {:.2f} GB/s; machine read {:.2f} GB/s ({} MiB, {} threads, "
      "{:.1f}-{:.1f} around the batches): {:.0f}% of it\n",
      o.model, o.batch_size, o.input_len, o.output_len, kernels::IsaName(kernels::ActiveIsa()),
      NumThreads(), dtype, quant.empty() ? "" : " quantization=" + quant, o.num_iters,
      Median(latency), Median(prefill_tps), Median(decode_tps), steps_per_s, decode_steps,
      bytes_per_step / 1e6, weight_gb_per_s, machine_gb_per_s, o.read_buffer_mib, NumThreads(),
      *std::min_element(reads.begin(), reads.end()), *std::max_element(reads.begin(), reads.end()),
      fraction * 100);
  return Status::Ok();
}

struct ThroughputOptions {
  std::string model;
  int num_prompts = 64;
  int input_len = 128;
  int output_len = 128;
  int threads = 0;
  bool json = false;
  EngineConfig engine;
  std::string policy = "default";
  bool no_prefix_caching = false;
};

// All prompts at once through LLM::Generate (the engine schedules them), as vLLM's offline
// throughput benchmark: requests/s, total (prompt + output) and output tokens/s.
Status BenchThroughput(ThroughputOptions o) {
  SetNumThreads(o.threads);
  FinishEngineFlags(o.engine, o.policy, o.no_prefix_caching);
  if (o.num_prompts <= 0 || o.input_len <= 0 || o.output_len <= 0) {
    return InvalidArgument("--num-prompts, --input-len and --output-len must be positive");
  }
  LOOM_ASSIGN_OR_RETURN(std::unique_ptr<LLM> llm, LLM::Load(o.model, o.engine));
  const int64_t vocab = llm->engine().model().config().vocab_size;
  std::mt19937 rng(0);
  std::vector<std::vector<int32_t>> prompts;
  for (int i = 0; i < o.num_prompts; ++i) prompts.push_back(RandomPrompt(rng, o.input_len, vocab));
  LOOM_ASSIGN_OR_RETURN(
      SamplingParams params,
      SamplingParams::FromJson(
          nlohmann::json{{"temperature", 0}, {"max_tokens", o.output_len}, {"ignore_eos", true}}));
  const auto t0 = Clock::now();
  LOOM_ASSIGN_OR_RETURN(std::vector<RequestResult> results, llm->Generate(prompts, {params}));
  const double s = Seconds(t0, Clock::now());
  int64_t output_tokens = 0;
  for (const RequestResult& r : results) {
    for (const CompletionOutput& c : r.outputs)
      output_tokens += static_cast<int64_t>(c.token_ids.size());
  }
  const int64_t prompt_tokens = int64_t{o.num_prompts} * o.input_len;
  const Model& model = llm->engine().model();
  if (o.json) {
    nlohmann::ordered_json j = {
        {"model", o.model},
        {"num_prompts", o.num_prompts},
        {"input_len", o.input_len},
        {"output_len", o.output_len},
        {"threads", NumThreads()},
        {"isa", kernels::IsaName(kernels::ActiveIsa())},
        {"weights_dtype", std::string(DTypeName(model.weight_dtype()))},
        {"quantization", QuantizationOf(model)},
        {"elapsed_s", s},
        {"prompt_tokens", prompt_tokens},
        {"output_tokens", output_tokens},
        {"requests_per_s", o.num_prompts / s},
        {"total_tokens_per_s", static_cast<double>(prompt_tokens + output_tokens) / s},
        {"output_tokens_per_s", static_cast<double>(output_tokens) / s},
    };
    fmt::print("{}\n", j.dump());
    return Status::Ok();
  }
  fmt::print(
      "throughput {} prompts={} input={} output={} isa={} threads={}: {:.2f} s, {:.2f} "
      "requests/s, {:.1f} total tokens/s, {:.1f} output tokens/s\n",
      o.model, o.num_prompts, o.input_len, o.output_len, kernels::IsaName(kernels::ActiveIsa()),
      NumThreads(), s, o.num_prompts / s, (prompt_tokens + output_tokens) / s, output_tokens / s);
  return Status::Ok();
}

}  // namespace

void AddBenchLatencyCommands(CLI::App& bench, std::function<Status()>& run) {
  CLI::App* lat = bench.add_subcommand(
      "latency", "Prefill and decode rate of one batch, and decode's share of memory bandwidth");
  auto lo = std::make_shared<LatencyOptions>();
  lat->add_option("--model", lo->model, "Checkpoint directory or .gguf file")->required();
  lat->add_option("--batch-size", lo->batch_size, "Sequences in the batch");
  lat->add_option("--input-len", lo->input_len, "Prompt tokens per sequence (random ids)");
  lat->add_option("--output-len", lo->output_len, "Generated tokens per sequence (greedy)");
  lat->add_option("--num-iters-warmup", lo->num_iters_warmup, "Untimed batches first");
  lat->add_option("--num-iters", lo->num_iters, "Timed batches (the median is reported)");
  lat->add_option("--read-buffer-mib", lo->read_buffer_mib,
                  "Buffer of the memory-bandwidth read (default 1024: much larger than the LLC)");
  lat->add_option("--threads", lo->threads, "Worker threads (default: all cores)")
      ->check(CLI::NonNegativeNumber);
  lat->add_flag("--json", lo->json, "Print one JSON object");
  AddEngineFlags(lat, lo->engine, lo->policy, lo->no_prefix_caching);
  lat->callback([&run, lo] { run = [lo] { return BenchLatency(*lo); }; });

  CLI::App* tp =
      bench.add_subcommand("throughput", "Offline throughput of many prompts (LLM::Generate)");
  auto to = std::make_shared<ThroughputOptions>();
  tp->add_option("--model", to->model, "Checkpoint directory or .gguf file")->required();
  tp->add_option("--num-prompts", to->num_prompts, "Prompts (random ids)");
  tp->add_option("--input-len", to->input_len, "Prompt tokens per request");
  tp->add_option("--output-len", to->output_len, "Generated tokens per request (greedy)");
  tp->add_option("--threads", to->threads, "Worker threads (default: all cores)")
      ->check(CLI::NonNegativeNumber);
  tp->add_flag("--json", to->json, "Print one JSON object");
  AddEngineFlags(tp, to->engine, to->policy, to->no_prefix_caching);
  tp->callback([&run, to] { run = [to] { return BenchThroughput(*to); }; });
}

}  // namespace loom::cli
