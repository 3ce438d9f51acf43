#include "engine/engine_core.h"

#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <fstream>

#include "core/logging.h"
#include "kernels/kernels.h"

namespace loom {
namespace {

// The model's context length as vLLM derives it: max_position_embeddings, stretched by the rope
// scaling factor for the scaling types that extend the context.
int DerivedMaxModelLen(const ModelConfig& c) {
  double len = static_cast<double>(c.max_position_embeddings);
  const std::string& t = c.rope_scaling.type;
  if (t == "linear" || t == "dynamic" || t == "yarn") len *= c.rope_scaling.factor;
  return static_cast<int>(len);
}

int64_t AvailableMemory() {
  std::ifstream in("/proc/meminfo");
  std::string key;
  int64_t kb = 0;
  std::string unit;
  while (in >> key >> kb >> unit) {
    if (key == "MemAvailable:") return kb * 1024;
  }
  return int64_t{4} << 30;
}

Result<DType> KvDType(const std::string& name, DType weights) {
  // Block-quantized weights (GGUF, --quantization) keep K/V in bf16, as llama.cpp keeps f16.
  if (name == "auto") return IsQuantized(weights) ? DType::kBF16 : weights;
  if (name == "f32" || name == "float32") return DType::kF32;
  if (name == "bf16" || name == "bfloat16") return DType::kBF16;
  if (name == "f16" || name == "float16") return DType::kF16;
  return InvalidArgument("--kv-cache-dtype must be auto, f32, bf16 or f16, got '{}'", name);
}

}  // namespace

Result<std::unique_ptr<EngineCore>> EngineCore::Create(std::unique_ptr<Model> model,
                                                       const EngineConfig& config) {
  std::unique_ptr<EngineCore> e(new EngineCore(std::move(model), config));
  if (config.block_size <= 0 || config.max_num_seqs <= 0 || config.max_num_batched_tokens <= 0) {
    return InvalidArgument("block size, max_num_seqs and max_num_batched_tokens must be positive");
  }
  LOOM_ASSIGN_OR_RETURN(DType kv_dtype, KvDType(config.kv_cache_dtype, e->model_->weight_dtype()));
  std::vector<LayerCacheSpec> specs = e->model_->CacheSpecs();
  for (LayerCacheSpec& s : specs) s.dtype = kv_dtype;
  const PoolPlan plan = PlanPools(specs);
  const int64_t memory =
      config.kv_cache_memory > 0 ? config.kv_cache_memory : AvailableMemory() / 4;
  const int64_t block_bytes = std::max<int64_t>(1, plan.kv_bytes_per_token * config.block_size);
  const int64_t num_blocks = memory / block_bytes;
  if (num_blocks < 1) {
    return InvalidArgument("--kv-cache-memory {} bytes holds no block of {} tokens ({} bytes each)",
                           memory, config.block_size, block_bytes);
  }
  e->cache_ = PagedKvCache::Make(specs, num_blocks, config.block_size, kv_dtype);
  e->max_model_len_ =
      config.max_model_len > 0 ? config.max_model_len : DerivedMaxModelLen(e->model_->config());

  SchedulerConfig sc;
  sc.max_num_seqs = config.max_num_seqs;
  sc.max_num_batched_tokens = config.max_num_batched_tokens;
  sc.max_model_len = e->max_model_len_;
  sc.block_size = config.block_size;
  sc.num_blocks = static_cast<int>(std::min<int64_t>(num_blocks, INT32_MAX));
  sc.enable_prefix_caching = config.enable_prefix_caching;
  sc.policy = config.policy;
  e->scheduler_ = std::make_unique<Scheduler>(sc);
  LOOM_LOG_INFO("KV cache: {} blocks of {} tokens, {} ({} MiB)", num_blocks, config.block_size,
                DTypeName(kv_dtype), num_blocks * block_bytes >> 20);
  return e;
}

Status EngineCore::AddRequest(EngineRequest r) {
  const int64_t vocab = model_->config().vocab_size;
  LOOM_RETURN_IF_ERROR(r.params.Validate(vocab));
  for (int32_t id : r.prompt_ids) {
    if (id < 0 || id >= vocab)
      return InvalidArgument("prompt token id {} is out of range [0, {})", id, vocab);
  }
  if (states_.count(r.id) != 0) return InvalidArgument("request id '{}' is already in use", r.id);
  Request sr = Request::Make(r.id, r.prompt_ids);
  // max_tokens unset (vLLM's None) generates until the context is full.
  sr.max_tokens =
      r.params.max_tokens.value_or(max_model_len_ - static_cast<int>(r.prompt_ids.size()));
  sr.min_tokens = r.params.min_tokens;
  sr.ignore_eos = r.params.ignore_eos;
  sr.eos_token_ids = r.eos_token_ids;
  sr.stop_token_ids = r.params.stop_token_ids;
  // Prompt logprobs need every prompt position computed, so such requests skip cached prefixes.
  sr.skip_prefix_cache = r.params.prompt_logprobs.has_value();
  LOOM_RETURN_IF_ERROR(scheduler_->AddRequest(std::move(sr)));
  State st;
  st.generator = MakeGenerator(r.params);
  st.req = std::move(r);
  const std::string id = st.req.id;
  states_.emplace(id, std::move(st));
  return Status::Ok();
}

void EngineCore::Abort(const std::string& id) {
  scheduler_->Abort(id);
  scheduler_->TakeFinished(id);
  states_.erase(id);
}

EngineStats EngineCore::stats() const {
  EngineStats s = stats_;
  s.prefix_query_tokens = scheduler_->kv().query_tokens();
  s.prefix_hit_tokens = scheduler_->kv().hit_tokens();
  s.preemptions = scheduler_->num_preemptions();
  s.free_blocks = scheduler_->kv().NumFreeBlocks();
  s.total_blocks = scheduler_->kv().num_blocks();
  s.num_running = scheduler_->num_running();
  s.num_waiting = scheduler_->num_waiting();
  return s;
}

Result<std::vector<RequestOutput>> EngineCore::Step() {
  const SchedulerOutput out = scheduler_->Schedule();
  std::vector<RequestOutput> outputs;
  if (out.empty()) return outputs;
  ++stats_.steps;

  // One flat batch for every scheduled request.
  size_t max_blocks = 0;
  for (const ScheduledRequest& s : out.scheduled)
    max_blocks = std::max(max_blocks, scheduler_->BlockTable(s.id).size());
  ForwardBatch batch(static_cast<int64_t>(max_blocks));
  for (const ScheduledRequest& s : out.scheduled) {
    const Request* r = scheduler_->Get(s.id);
    batch.AddSequence(
        std::span<const int32_t>(r->tokens).subspan(s.num_computed_tokens, s.num_new_tokens),
        s.num_computed_tokens, scheduler_->BlockTable(s.id), config_.block_size);
    if (s.num_computed_tokens < r->num_prompt_tokens) {
      stats_.prompt_tokens +=
          std::min(s.num_computed_tokens + s.num_new_tokens, r->num_prompt_tokens) -
          s.num_computed_tokens;
    }
  }
  LOOM_ASSIGN_OR_RETURN(Tensor hidden, model_->Forward(batch, cache_));

  // Rows that need logits: each sampling sequence's last row, and prompt rows of requests that
  // asked for prompt logprobs (row p predicts prompt token p + 1).
  struct PromptRow {
    State* state;
    int64_t position;
    size_t row;  // into `rows`: requests' prompt and sample rows interleave
  };
  std::vector<int64_t> rows;
  std::vector<PromptRow> prompt_rows;
  std::vector<size_t> sample_row;  // per scheduled request: index into rows, or npos
  for (size_t i = 0; i < out.scheduled.size(); ++i) {
    const ScheduledRequest& s = out.scheduled[i];
    State& st = states_.at(s.id);
    const int64_t first = batch.query_start[i];
    if (st.req.params.prompt_logprobs) {
      const int64_t prompt_len = static_cast<int64_t>(st.req.prompt_ids.size());
      for (int64_t p = s.num_computed_tokens;
           p < std::min<int64_t>(s.num_computed_tokens + s.num_new_tokens, prompt_len - 1); ++p) {
        prompt_rows.push_back({&st, p, rows.size()});
        rows.push_back(first + p - s.num_computed_tokens);
      }
    }
    sample_row.push_back(s.samples ? rows.size() : std::string::npos);
    if (s.samples) rows.push_back(batch.query_start[i + 1] - 1);
  }
  const int64_t vocab = model_->config().vocab_size, h = model_->config().hidden_size;
  Tensor selected = Tensor::Zeros(DType::kF32, {static_cast<int64_t>(rows.size()), h});
  for (size_t j = 0; j < rows.size(); ++j) {
    std::memcpy(selected.data<float>() + j * h, hidden.data<float>() + rows[j] * h,
                h * sizeof(float));
  }
  Tensor logits = rows.empty() ? Tensor() : model_->ComputeLogits(selected);  // f32 [rows, vocab]

  for (size_t j = 0; j < prompt_rows.size(); ++j) {
    const std::vector<float> lp = LogSoftmax(
        std::span<const float>(logits.data<float>() + prompt_rows[j].row * vocab, vocab));
    const EngineRequest& req = prompt_rows[j].state->req;
    prompt_rows[j].state->prompt_logprobs.push_back(
        LogprobsOf(lp, req.prompt_ids[prompt_rows[j].position + 1], req.params.prompt_logprobs));
  }

  std::vector<SeqSamplingInput> inputs;
  std::vector<size_t> input_of;  // scheduled index of each sampling input
  Tensor sample_logits =
      Tensor::Zeros(DType::kF32, {static_cast<int64_t>(out.scheduled.size()), vocab});
  for (size_t i = 0; i < out.scheduled.size(); ++i) {
    if (sample_row[i] == std::string::npos) continue;
    State& st = states_.at(out.scheduled[i].id);
    const Request* r = scheduler_->Get(out.scheduled[i].id);
    std::memcpy(sample_logits.data<float>() + inputs.size() * vocab,
                logits.data<float>() + sample_row[i] * vocab, vocab * sizeof(float));
    SeqSamplingInput in;
    in.params = &st.req.params;
    in.prompt = std::span<const int32_t>(r->tokens).first(r->num_prompt_tokens);
    in.output = r->output();
    // As vLLM, EOS is held back until min_tokens even under ignore_eos (it joins
    // all_stop_token_ids either way); ignore_eos only stops EOS from ending the request.
    in.eos_token_ids = st.req.eos_token_ids;
    in.bad_words_ids = &st.req.bad_words_ids;
    in.generator = &st.generator;
    inputs.push_back(std::move(in));
    input_of.push_back(i);
  }
  const std::vector<SampleOutput> samples = Sample(sample_logits.data<float>(), vocab, inputs);

  std::map<std::string, int32_t> sampled;
  std::map<std::string, const SampleOutput*> sample_of;
  for (size_t k = 0; k < samples.size(); ++k) {
    sampled[out.scheduled[input_of[k]].id] = samples[k].token;
    sample_of[out.scheduled[input_of[k]].id] = &samples[k];
  }
  stats_.generated_tokens += static_cast<int64_t>(samples.size());
  const std::vector<std::string> finished = scheduler_->Update(out, sampled);

  for (const auto& [id, sample] : sample_of) {
    State& st = states_.at(id);
    RequestOutput o;
    o.id = id;
    o.new_token_ids.push_back(sample->token);
    o.new_samples.push_back(*sample);
    if (st.req.params.prompt_logprobs && !st.prompt_logprobs_sent) {
      o.prompt_logprobs = std::move(st.prompt_logprobs);
      st.prompt_logprobs_sent = true;
    }
    outputs.push_back(std::move(o));
  }
  for (const std::string& id : finished) {
    auto it = std::find_if(outputs.begin(), outputs.end(),
                           [&](const RequestOutput& o) { return o.id == id; });
    std::unique_ptr<Request> r = scheduler_->TakeFinished(id);
    it->finished = true;
    it->finish_reason = r->finish_reason;
    states_.erase(id);
  }
  return outputs;
}

}  // namespace loom
