// `loom bench`: throughput figures for docs/performance.md (never run by tests).
//   loom bench matmul --m 1 --n 4096 --k 4096 --dtype bf16
//   loom bench generate --model DIR --prompt-len 128 --gen-len 32
#include <fmt/format.h>

#include <chrono>
#include <random>

#include "cli/commands.h"
#include "core/threads.h"
#include "engine/generate.h"
#include "kernels/dispatch.h"
#include "kernels/kernels.h"
#include "models/registry.h"

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
};

Status BenchMatmul(const MatmulOptions& o) {
  SetNumThreads(o.threads);
  DType dt;
  if (o.dtype == "f32")
    dt = DType::kF32;
  else if (o.dtype == "f16")
    dt = DType::kF16;
  else if (o.dtype == "bf16")
    dt = DType::kBF16;
  else
    return InvalidArgument("--dtype must be f32, f16 or bf16, got '{}'", o.dtype);
  if (o.m <= 0 || o.n <= 0 || o.k <= 0 || o.iters <= 0)
    return InvalidArgument("sizes and --iters must be positive");
  Tensor x = Tensor::Zeros(DType::kF32, {o.m, o.k});
  Tensor w = Tensor::Zeros(dt, {o.n, o.k});
  Tensor y = Tensor::Zeros(DType::kF32, {o.m, o.n});
  std::mt19937 rng(0);
  std::uniform_real_distribution<float> u(-1, 1);
  for (int64_t i = 0; i < x.numel(); ++i) x.data<float>()[i] = u(rng);
  for (int64_t i = 0; i < w.numel(); ++i) {
    const float v = u(rng);
    if (dt == DType::kF32)
      w.data<float>()[i] = v;
    else
      w.data<uint16_t>()[i] = dt == DType::kBF16 ? F32ToBF16(v) : F32ToF16(v);
  }
  kernels::MatMul(x.data<float>(), w.raw(), dt, nullptr, y.data<float>(), o.m, o.n,
                  o.k);  // warm-up
  const auto t0 = Clock::now();
  for (int i = 0; i < o.iters; ++i) {
    kernels::MatMul(x.data<float>(), w.raw(), dt, nullptr, y.data<float>(), o.m, o.n, o.k);
  }
  const double s = Seconds(t0, Clock::now()) / o.iters;
  fmt::print(
      "matmul m={} n={} k={} w={} isa={} threads={}: {:.3f} ms, {:.1f} GB/s weights, {:.1f} "
      "GFLOP/s\n",
      o.m, o.n, o.k, o.dtype, kernels::IsaName(kernels::ActiveIsa()), NumThreads(), s * 1e3,
      static_cast<double>(w.nbytes()) / s / 1e9, 2.0 * o.m * o.n * o.k / s / 1e9);
  return Status::Ok();
}

struct GenerateOptions {
  std::string model;
  int prompt_len = 128;
  int gen_len = 32;
  int threads = 0;
};

Status BenchGenerate(const GenerateOptions& o) {
  SetNumThreads(o.threads);
  if (o.prompt_len <= 0 || o.gen_len <= 0)
    return InvalidArgument("--prompt-len and --gen-len must be positive");
  LOOM_ASSIGN_OR_RETURN(std::unique_ptr<Model> model, LoadModel(o.model));
  const int64_t vocab = model->config().vocab_size;
  std::vector<int32_t> prompt(o.prompt_len);
  for (int i = 0; i < o.prompt_len; ++i) prompt[i] = static_cast<int32_t>((i * 7919 + 13) % vocab);
  KvCache cache = model->NewCache(o.prompt_len + o.gen_len);
  const auto t0 = Clock::now();
  LOOM_ASSIGN_OR_RETURN(Tensor hidden, model->Forward(prompt, cache));
  Tensor logits = model->ComputeLogits(hidden.Rows(o.prompt_len - 1, o.prompt_len));
  const auto t1 = Clock::now();
  for (int i = 0; i < o.gen_len; ++i) {
    const int32_t next[1] = {
        static_cast<int32_t>(std::max_element(logits.data<float>(), logits.data<float>() + vocab) -
                             logits.data<float>())};
    LOOM_ASSIGN_OR_RETURN(hidden, model->Forward(next, cache));
    logits = model->ComputeLogits(hidden);
  }
  const auto t2 = Clock::now();
  fmt::print(
      "generate {} isa={} threads={}: prefill {} tokens {:.1f} tok/s, decode {} tokens {:.1f} "
      "tok/s\n",
      o.model, kernels::IsaName(kernels::ActiveIsa()), NumThreads(), o.prompt_len,
      o.prompt_len / Seconds(t0, t1), o.gen_len, o.gen_len / Seconds(t1, t2));
  return Status::Ok();
}

}  // namespace

void AddBenchCommand(CLI::App& app, std::function<Status()>& run) {
  CLI::App* bench = app.add_subcommand("bench", "Measure throughput (for docs/performance.md)");
  bench->require_subcommand(1);

  CLI::App* mm = bench->add_subcommand("matmul", "One matmul: f32 activations x weights");
  auto mo = std::make_shared<MatmulOptions>();
  mm->add_option("--m", mo->m, "Rows of activations (tokens)");
  mm->add_option("--n", mo->n, "Output features");
  mm->add_option("--k", mo->k, "Input features");
  mm->add_option("--dtype", mo->dtype, "Weight dtype: f32, f16, bf16");
  mm->add_option("--iters", mo->iters, "Timed iterations");
  mm->add_option("--threads", mo->threads, "Worker threads (default: all cores)");
  mm->callback([&run, mo] { run = [mo] { return BenchMatmul(*mo); }; });

  CLI::App* gen = bench->add_subcommand("generate", "Prefill and greedy decode of one sequence");
  auto go = std::make_shared<GenerateOptions>();
  gen->add_option("--model", go->model, "Hugging Face checkpoint directory")->required();
  gen->add_option("--prompt-len", go->prompt_len, "Prompt tokens");
  gen->add_option("--gen-len", go->gen_len, "Generated tokens");
  gen->add_option("--threads", go->threads, "Worker threads (default: all cores)");
  gen->callback([&run, go] { run = [go] { return BenchGenerate(*go); }; });
}

}  // namespace loom::cli
