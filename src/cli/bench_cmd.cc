// `loom bench`: throughput figures for docs/performance.md (never run by tests).
//   loom bench matmul --m 1 --n 4096 --k 4096 --dtype bf16
//   loom bench generate --model DIR --prompt-len 128 --gen-len 32 --batch 16
//   loom bench tokenize --model DIR --file TEXT
//   loom bench serve --base-url http://127.0.0.1:8000 ...   (bench_serve_cmd.cc)
//   loom bench perplexity --model DIR --file TEXT            (bench_perplexity_cmd.cc)
//   loom bench latency | throughput --model DIR ...          (bench_latency_cmd.cc)
#include <fmt/format.h>

#include <chrono>
#include <fstream>
#include <random>
#include <vector>

#include "cli/commands.h"
#include "cli/engine_flags.h"
#include "cli/mac_peak.h"
#include "core/threads.h"
#include "engine/llm.h"
#include "kernels/dispatch.h"
#include "kernels/kernels.h"
#include "models/registry.h"
#include "tokenizer/model_tokenizer.h"

namespace loom::cli {
namespace {

using Clock = std::chrono::steady_clock;

double Seconds(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

struct MatmulOptions {
  int64_t m = 1, n = 4096, k = 4096;
  std::string dtype = "bf16";
  int iters = 20;
  int threads = 0;
  bool f32_activations = false;
};

Status BenchMatmul(const MatmulOptions& o) {
  SetNumThreads(o.threads);
  DType dt = DType::kF32;
  bool known = false;
  for (int t = 0; t <= static_cast<int>(DType::kQ6_K) && !known; ++t) {
    dt = static_cast<DType>(t);
    known = DTypeName(dt) == o.dtype;
  }
  if (!known) {
    return InvalidArgument(
        "--dtype must be f32, f16, bf16, q4_0, q4_1, q5_0, q5_1, q8_0, q2_k, q3_k, q4_k, q5_k or "
        "q6_k, got '{}'",
        o.dtype);
  }
  if (o.m <= 0 || o.n <= 0 || o.k <= 0 || o.iters <= 0)
    return InvalidArgument("sizes and --iters must be positive");
  if (o.k % DTypeBlockElems(dt) != 0)
    return InvalidArgument("--k must be a multiple of {} for {}", DTypeBlockElems(dt), o.dtype);
  Tensor x = Tensor::Zeros(DType::kF32, {o.m, o.k});
  Tensor w = Tensor::Zeros(dt, {o.n, o.k});
  Tensor y = Tensor::Zeros(DType::kF32, {o.m, o.n});
  std::mt19937 rng(0);
  std::uniform_real_distribution<float> u(-1, 1);
  for (int64_t i = 0; i < x.numel(); ++i) x.data<float>()[i] = u(rng);
  if (kernels::CanQuantize(dt)) {
    std::vector<float> row(static_cast<size_t>(o.k));
    for (int64_t j = 0; j < o.n; ++j) {
      for (float& v : row) v = u(rng);
      kernels::Quantize(row.data(), dt, static_cast<char*>(w.raw()) + j * RowBytes(dt, o.k), o.k);
    }
  } else if (IsQuantized(dt)) {
    // Decoding cost does not depend on the values: random bytes whose every 16-bit half (so
    // every f16 scale) is a normal number in [2^-7, 1): bits 2-6 of each byte in [8, 14].
    uint8_t* bytes = static_cast<uint8_t*>(w.raw());
    for (size_t i = 0; i < w.nbytes(); ++i) {
      bytes[i] = static_cast<uint8_t>((rng() & 0x83u) | (8u + rng() % 7u) << 2);
    }
  } else {
    for (int64_t i = 0; i < w.numel(); ++i) {
      const float v = u(rng);
      if (dt == DType::kF32)
        w.data<float>()[i] = v;
      else
        w.data<uint16_t>()[i] = dt == DType::kBF16 ? F32ToBF16(v) : F32ToF16(v);
    }
  }
  const kernels::Activations act =
      o.f32_activations ? kernels::Activations::kF32 : kernels::Activations::kLikeWeights;
  // In the layout a model load would give these weights.
  const DType layout = kernels::PreferredWeightLayout(dt, o.n, o.k, act);
  if (layout != dt) {
    Tensor packed = Tensor::Zeros(layout, {o.n, o.k});
    kernels::RepackWeights(w.raw(), dt, layout, packed.raw(), o.n, o.k);
    w = std::move(packed);
  }
  kernels::MatMul(x.data<float>(), w.raw(), layout, nullptr, y.data<float>(), o.m, o.n, o.k,
                  act);  // warm-up
  const auto t0 = Clock::now();
  for (int i = 0; i < o.iters; ++i) {
    kernels::MatMul(x.data<float>(), w.raw(), layout, nullptr, y.data<float>(), o.m, o.n, o.k, act);
  }
  const double s = Seconds(t0, Clock::now()) / o.iters;
  const double gmacs = static_cast<double>(o.m) * o.n * o.k / s / 1e9;
  fmt::print(
      "matmul m={} n={} k={} w={} x={} isa={} threads={}: {:.3f} ms, {:.1f} GB/s weights, {:.1f} "
      "GFLOP/s\n",
      o.m, o.n, o.k, DTypeName(layout), o.f32_activations ? "f32" : "like-weights",
      kernels::IsaName(kernels::ActiveIsa()), NumThreads(), s * 1e3,
      static_cast<double>(w.nbytes()) / s / 1e9, 2 * gmacs);
  // The instruction's peak, measured right after the matmul (the host's load changes by the
  // second): what share of it the kernel reaches.
  if (const std::optional<MacPeak> peak =
          MeasureMacPeak(act == kernels::Activations::kLikeWeights ? layout : DType::kF32)) {
    fmt::print(
        "  {} peak {:.1f} GFLOP/s on {} threads (registers only): the matmul reached {:.0f}%\n",
        peak->instruction, 2 * peak->gmacs, NumThreads(), 100 * gmacs / peak->gmacs);
  }
  return Status::Ok();
}

struct GenerateOptions {
  std::string model;
  int prompt_len = 128;
  int gen_len = 32;
  int batch = 1;
  int threads = 0;
  EngineConfig engine;
  std::string policy = "default";
  bool no_prefix_caching = false;
};

// `batch` sequences of distinct prompts, greedy, through the engine: prefill throughput, then
// decode throughput once every sequence is decoding.
Status BenchGenerate(GenerateOptions o) {
  SetNumThreads(o.threads);
  FinishEngineFlags(o.engine, o.policy, o.no_prefix_caching);
  if (o.prompt_len <= 0 || o.gen_len <= 0 || o.batch <= 0) {
    return InvalidArgument("--prompt-len, --gen-len and --batch must be positive");
  }
  LOOM_ASSIGN_OR_RETURN(std::unique_ptr<LLM> llm, LLM::Load(o.model, o.engine));
  EngineCore& engine = llm->engine();
  const int64_t vocab = engine.model().config().vocab_size;
  Result<SamplingParams> params = SamplingParams::FromJson(
      nlohmann::json{{"temperature", 0}, {"max_tokens", o.gen_len}, {"ignore_eos", true}});
  if (!params.ok()) return params.status();
  for (int b = 0; b < o.batch; ++b) {
    EngineRequest r;
    r.id = std::to_string(b);
    for (int i = 0; i < o.prompt_len; ++i)
      r.prompt_ids.push_back(static_cast<int32_t>((i * 7919 + b * 104729 + 13) % vocab));
    r.params = *params;
    LOOM_RETURN_IF_ERROR(engine.AddRequest(std::move(r)));
  }
  // Prefill: until every sequence has its first token.
  const auto t0 = Clock::now();
  int64_t first_tokens = 0;
  while (first_tokens < o.batch) {
    LOOM_ASSIGN_OR_RETURN(std::vector<RequestOutput> out, engine.Step());
    first_tokens += static_cast<int64_t>(out.size());
  }
  const auto t1 = Clock::now();
  int64_t decoded = 0;
  while (engine.HasUnfinished()) {
    LOOM_ASSIGN_OR_RETURN(std::vector<RequestOutput> out, engine.Step());
    decoded += static_cast<int64_t>(out.size());
  }
  const auto t2 = Clock::now();
  fmt::print(
      "generate {} batch={} isa={} threads={}: prefill {} tokens {:.1f} tok/s, decode {} tokens "
      "{:.1f} tok/s\n",
      o.model, o.batch, kernels::IsaName(kernels::ActiveIsa()), NumThreads(),
      int64_t{o.batch} * o.prompt_len, o.batch * o.prompt_len / Seconds(t0, t1), decoded,
      decoded / std::max(Seconds(t1, t2), 1e-9));
  return Status::Ok();
}

struct TokenizeOptions {
  std::string model;
  std::string file;
  int repeat = 3;
};

// Single-threaded encode throughput over a text file, split into 4 KiB documents at line ends
// (a typical request size; a whole book as one string is not what a server sees).
Status BenchTokenize(const TokenizeOptions& o) {
  LOOM_ASSIGN_OR_RETURN(Tokenizer tok, LoadTokenizer(o.model));
  std::ifstream in(o.file, std::ios::binary);
  if (!in) return NotFound("--file {}: cannot open", o.file);
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::vector<std::string> docs;
  for (size_t pos = 0; pos < text.size();) {
    size_t end = std::min(text.size(), pos + 4096);
    const size_t nl = text.rfind('\n', end);
    if (end < text.size() && nl != std::string::npos && nl > pos) end = nl + 1;
    docs.push_back(text.substr(pos, end - pos));
    pos = end;
  }
  int64_t tokens = 0;
  double best = 1e30;
  for (int r = 0; r < std::max(1, o.repeat); ++r) {
    tokens = 0;
    const auto t0 = Clock::now();
    for (const std::string& d : docs) {
      LOOM_ASSIGN_OR_RETURN(Encoding e, tok.Encode(d, std::nullopt, false));
      tokens += static_cast<int64_t>(e.ids.size());
    }
    best = std::min(best, Seconds(t0, Clock::now()));
  }
  fmt::print(
      "tokenize {} file={} ({:.1f} MB, {} docs): {} tokens, {:.1f} MB/s, {:.0f} tokens/s (best of "
      "{})\n",
      o.model, o.file, text.size() / 1e6, docs.size(), tokens, text.size() / best / 1e6,
      tokens / best, o.repeat);
  return Status::Ok();
}

}  // namespace

void AddBenchCommand(CLI::App& app, std::function<Status()>& run) {
  CLI::App* bench = app.add_subcommand("bench", "Measure throughput (for docs/performance.md)");
  bench->require_subcommand(1);

  CLI::App* mm = bench->add_subcommand("matmul", "One matmul: activations x weights");
  auto mo = std::make_shared<MatmulOptions>();
  mm->add_option("--m", mo->m, "Rows of activations (tokens)");
  mm->add_option("--n", mo->n, "Output features");
  mm->add_option("--k", mo->k, "Input features");
  mm->add_option("--dtype", mo->dtype,
                 "Weight dtype: f32, f16, bf16, q4_0, q4_1, q5_0, q5_1, q8_0, q2_k ... q6_k");
  mm->add_option("--iters", mo->iters, "Timed iterations");
  mm->add_flag("--f32-activations", mo->f32_activations,
               "Exact f32 activations (--dtype float32 of the model commands), not rounded toward "
               "the weights' precision");
  mm->add_option("--threads", mo->threads, "Worker threads (default: all cores)");
  mm->callback([&run, mo] { run = [mo] { return BenchMatmul(*mo); }; });

  CLI::App* tk =
      bench->add_subcommand("tokenize", "Single-threaded encode throughput on a text file");
  auto to = std::make_shared<TokenizeOptions>();
  tk->add_option("--model", to->model, "Directory with tokenizer.json")->required();
  tk->add_option("--file", to->file, "UTF-8 text file")->required();
  tk->add_option("--repeat", to->repeat, "Timed passes (the best is reported)");
  tk->callback([&run, to] { run = [to] { return BenchTokenize(*to); }; });

  CLI::App* gen = bench->add_subcommand("generate", "Prefill and greedy decode of one sequence");
  auto go = std::make_shared<GenerateOptions>();
  gen->add_option("--model", go->model, "Hugging Face checkpoint directory")->required();
  gen->add_option("--prompt-len", go->prompt_len, "Prompt tokens");
  gen->add_option("--gen-len", go->gen_len, "Generated tokens");
  gen->add_option("--batch", go->batch, "Concurrent sequences");
  gen->add_option("--threads", go->threads, "Worker threads (default: all cores)");
  AddEngineFlags(gen, go->engine, go->policy, go->no_prefix_caching);
  gen->callback([&run, go] { run = [go] { return BenchGenerate(*go); }; });

  AddBenchServeCommand(*bench, run);
  AddBenchPerplexityCommand(*bench, run);
  AddBenchLatencyCommands(*bench, run);
}

}  // namespace loom::cli
