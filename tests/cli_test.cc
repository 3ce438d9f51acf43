// The `loom` binary end to end: `models`, `generate --json` against the reference goldens, and
// bad input giving one clear error line and exit code 1.
#include <gtest/gtest.h>

#include <cmath>
#include <regex>
#include <string>

#include "kernels/dispatch.h"
#include "test_util.h"

namespace loom {
namespace {

namespace fs = std::filesystem;
using testing::Join;
using testing::RunLoom;
using testing::TempDir;

// Copies a committed checkpoint so a test can damage it.
fs::path CopyModel(const std::string& name, const TempDir& d) {
  const fs::path dst = d.path() / name;
  fs::copy(testing::ModelsDir() / name, dst, fs::copy_options::recursive);
  return dst;
}

void ExpectOneLineError(const testing::CommandResult& r, const std::string& needle) {
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_EQ(r.out, "");
  ASSERT_FALSE(r.err.empty());
  EXPECT_EQ(r.err.rfind("error: ", 0), 0u) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  EXPECT_NE(r.err.find(needle), std::string::npos) << "missing '" << needle << "' in: " << r.err;
}

TEST(Cli, ModelsJsonListsArchitecturesWithExactFlags) {
  const testing::CommandResult r = RunLoom("models --json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const nlohmann::json j = nlohmann::json::parse(r.out);
  ASSERT_TRUE(j.is_array());
  std::set<std::string> archs;
  for (const auto& o : j) {
    archs.insert(o["architecture"].get<std::string>());
    for (const char* flag :
         {"supports_multimodal", "supports_lora", "supports_pp", "has_inner_state",
          "is_attention_free", "is_hybrid", "has_noops", "supports_cross_encoding",
          "supports_quant", "supports_transcription", "supports_v0_only"}) {
      ASSERT_TRUE(o.contains(flag) && o[flag].is_boolean()) << flag;
    }
  }
  EXPECT_EQ(archs, (std::set<std::string>{"LlamaForCausalLM", "MistralForCausalLM",
                                          "Qwen2ForCausalLM", "Qwen3ForCausalLM"}));
}

TEST(Cli, ModelsTable) {
  const testing::CommandResult r = RunLoom("models");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("architecture"), std::string::npos);
  EXPECT_NE(r.out.find("supports_transcription"), std::string::npos);
  EXPECT_NE(r.out.find("Qwen3ForCausalLM"), std::string::npos);
}

TEST(Cli, GenerateJsonMatchesReference) {
  const fs::path dir = testing::ModelsDir() / "qwen3-qknorm-f32-tied";
  const nlohmann::json golden = testing::ReadJson(dir / "golden.json");
  const auto prompt = golden["prompt_ids"].get<std::vector<int>>();
  const testing::CommandResult r = RunLoom(
      "generate --model " + dir.string() + " --prompt-ids " + Join(prompt) +
      " --max-tokens 32 --temperature 0 --ignore-eos --logprobs 3 --prompt-logprobs 2 --json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const nlohmann::json j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["token_ids"], golden["greedy_ids"]);
  EXPECT_EQ(j["text"], "");
  ASSERT_EQ(j["logprobs"].size(), 32u);
  for (size_t t = 0; t < 32; ++t) {
    ASSERT_EQ(j["logprobs"][t].size(), 3u);
    EXPECT_EQ(j["logprobs"][t][0]["id"], golden["greedy_ids"][t]);  // greedy = top-1
    EXPECT_NEAR(j["logprobs"][t][0]["logprob"].get<double>(),
                golden["greedy_logprobs"][t].get<double>(), 1e-4);
  }
  // prompt_logprobs[t] is the distribution of prompt token t + 1: row t of the reference.
  ASSERT_EQ(j["prompt_logprobs"].size(), prompt.size() - 1);
  for (size_t t = 0; t + 1 < prompt.size(); ++t) {
    const auto row = golden["prompt_logprobs"][t].get<std::vector<double>>();
    for (const auto& e : j["prompt_logprobs"][t]) {
      const int id = e["id"];
      EXPECT_NEAR(e["logprob"].get<double>(), row[id], 1e-4);
      EXPECT_GE(e["logprob"].get<double>(), *std::max_element(row.begin(), row.end()) - 50.0);
    }
    const int top = j["prompt_logprobs"][t][0]["id"];
    EXPECT_EQ(top, std::max_element(row.begin(), row.end()) - row.begin());
  }
}

TEST(Cli, GenerateStopsAtEos) {
  // Without --ignore-eos, generation stops after the checkpoint's EOS if it is produced; the
  // reference's greedy run never produces EOS (2), so all 5 tokens come back.
  const fs::path dir = testing::ModelsDir() / "llama-gqa-f32";
  const testing::CommandResult r = RunLoom("generate --model " + dir.string() +
                                           " --prompt-ids 5,6,7 --max-tokens 5 --temperature 0");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(std::count(r.out.begin(), r.out.end(), ','), 4) << r.out;
}

TEST(Cli, GenerationConfigFlagChoosesTheSamplingDefaults) {
  // A generation_config.json elsewhere saying greedy and 4 new tokens, as vLLM's
  // --generation-config DIR; `vllm` ignores the model's own (none here: vLLM's 16 tokens).
  testing::TempDir tmp;
  testing::WriteText(tmp.path() / "generation_config.json",
                     R"({"temperature": 0.0, "max_new_tokens": 4})");
  const std::string model = (testing::ModelsDir() / "llama-gqa-f32").string();
  const std::string base = "generate --model " + model + " --prompt-ids 5,6,7 --ignore-eos";
  testing::CommandResult greedy = RunLoom(base + " --temperature 0 --max-tokens 4");
  testing::CommandResult from_file = RunLoom(base + " --generation-config " + tmp.path().string());
  ASSERT_EQ(from_file.exit_code, 0) << from_file.err;
  EXPECT_EQ(from_file.out, greedy.out);
  EXPECT_EQ(std::count(from_file.out.begin(), from_file.out.end(), ','), 3);
  testing::CommandResult plain = RunLoom(base + " --generation-config vllm --temperature 0");
  EXPECT_EQ(std::count(plain.out.begin(), plain.out.end(), ','), 15);
  ExpectOneLineError(RunLoom(base + " --generation-config /nonexistent"),
                     "no generation_config.json");
}

TEST(Cli, GenerateFromTextWithStopStrings) {
  TempDir d;
  const fs::path m = CopyModel("llama-gqa-f32", d);
  testing::WriteByteTokenizer(m);
  const testing::CommandResult base =
      RunLoom("generate --model " + m.string() +
              " --prompt Hello --max-tokens 12 --temperature 0 --ignore-eos --json");
  ASSERT_EQ(base.exit_code, 0) << base.err;
  const nlohmann::json j = nlohmann::json::parse(base.out);
  const auto ids = j["token_ids"].get<std::vector<int>>();
  ASSERT_EQ(ids.size(), 12u);
  // The streamed text equals the tokenizer's decode of the ids (the decoder itself is proven
  // against Hugging Face in tokenizer_test).
  const auto detok = [&](const std::vector<int>& v) {
    const testing::CommandResult r =
        RunLoom("detokenize --model " + m.string() + " --ids " + Join(v));
    return nlohmann::json::parse(r.out)["text"].get<std::string>();
  };
  EXPECT_EQ(j["text"].get<std::string>(), detok(ids));
  EXPECT_EQ(j["finish_reason"], "length");
  // Same prompt as ids: the same tokens (no special tokens in this tokenizer).
  const testing::CommandResult as_ids = RunLoom(
      "generate --model " + m.string() +
      " --prompt-ids 72,101,108,108,111 --max-tokens 12 --temperature 0 --ignore-eos --json");
  EXPECT_EQ(nlohmann::json::parse(as_ids.out)["token_ids"], j["token_ids"]);

  // A stop string (the first printable ASCII byte generated after the first token) ends the
  // text before it, with finish_reason stop.
  size_t k = 1;
  while (k < ids.size() && !(ids[k] >= 'a' && ids[k] <= 'z') && !(ids[k] >= 'A' && ids[k] <= 'Z') &&
         !(ids[k] >= '0' && ids[k] <= '9'))
    ++k;
  if (k == ids.size()) GTEST_SKIP() << "no alphanumeric byte generated";
  const std::string stop(1, static_cast<char>(ids[k]));
  size_t first = 0;
  while (ids[first] != ids[k]) ++first;
  testing::WriteText(d.path() / "p.jsonl", nlohmann::json{{"prompt", "Hello"},
                                                          {"max_tokens", 12},
                                                          {"temperature", 0},
                                                          {"ignore_eos", true},
                                                          {"stop", {stop}}}
                                                   .dump() +
                                               "\n");
  const testing::CommandResult st = RunLoom("generate --model " + m.string() + " --prompts " +
                                            (d.path() / "p.jsonl").string() + " --json");
  ASSERT_EQ(st.exit_code, 0) << st.err;
  const nlohmann::json js = nlohmann::json::parse(st.out);
  EXPECT_EQ(js["finish_reason"], "stop");
  EXPECT_EQ(js["token_ids"].size(), first + 1);
  EXPECT_EQ(js["text"].get<std::string>(),
            first == 0 ? "" : detok(std::vector<int>(ids.begin(), ids.begin() + first)));
}

TEST(Cli, BuiltInModelMatchesItsPyTorchReference) {
  // tools/train_demo recorded PyTorch's greedy continuation and the logprobs of a held-out
  // verse (computed in f32 from the committed bf16 weights); Loom serves the built-in model
  // when no --model is given.
  const nlohmann::json ref = testing::ReadJson(
      testing::SourceDir() / "tools/train_demo/heldout_reference.json")["reference"];
  testing::CommandResult r = RunLoom(
      "generate --prompt 'And God said' --max-tokens 40 --temperature 0 --ignore-eos --json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ("And God said" + nlohmann::json::parse(r.out)["text"].get<std::string>(),
            ref["greedy_and_god_said"]);
  const auto ids = ref["ids"].get<std::vector<int>>();
  r = RunLoom("generate --prompt-ids " + Join(ids) +
              " --max-tokens 1 --prompt-logprobs 1024 --json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const nlohmann::json plp = nlohmann::json::parse(r.out)["prompt_logprobs"];
  ASSERT_EQ(plp.size() + 1, ids.size());
  double max_diff = 0;
  for (size_t t = 0; t < plp.size(); ++t) {
    for (const auto& e : plp[t]) {
      if (e["id"] == ids[t + 1])
        max_diff = std::max(
            max_diff, std::abs(e["logprob"].get<double>() - ref["logprobs"][t + 1].get<double>()));
    }
  }
  // bf16 KV cache (kv-cache-dtype auto follows the bf16 weights) against an f32 reference.
  EXPECT_LT(max_diff, 2e-2);
}

TEST(Cli, MissingModelDirectory) {
  ExpectOneLineError(RunLoom("generate --model /nonexistent/model --prompt-ids 1,2"),
                     "/nonexistent/model");
}

TEST(Cli, MissingWeights) {
  TempDir d;
  const fs::path m = CopyModel("llama-gqa-f32", d);
  fs::remove(m / "model.safetensors");
  ExpectOneLineError(RunLoom("generate --model " + m.string() + " --prompt-ids 1,2"),
                     "model.safetensors");
}

TEST(Cli, TruncatedSafetensors) {
  TempDir d;
  const fs::path m = CopyModel("llama-gqa-f32", d);
  fs::resize_file(m / "model.safetensors", fs::file_size(m / "model.safetensors") / 2);
  ExpectOneLineError(RunLoom("generate --model " + m.string() + " --prompt-ids 1,2"),
                     "model.safetensors");
}

TEST(Cli, TruncatedShard) {
  TempDir d;
  const fs::path m = CopyModel("llama-linear-bias-sharded-f32", d);
  fs::resize_file(m / "model-00002-of-00002.safetensors", 100);
  ExpectOneLineError(RunLoom("generate --model " + m.string() + " --prompt-ids 1,2"),
                     "model-00002-of-00002.safetensors");
}

TEST(Cli, UnknownArchitecture) {
  TempDir d;
  const fs::path m = CopyModel("llama-gqa-f32", d);
  nlohmann::json c = testing::ReadJson(m / "config.json");
  c["architectures"] = {"FancyNewForCausalLM"};
  testing::WriteText(m / "config.json", c.dump());
  ExpectOneLineError(RunLoom("generate --model " + m.string() + " --prompt-ids 1,2"),
                     "FancyNewForCausalLM");
}

TEST(Cli, MismatchedTensorShape) {
  TempDir d;
  const fs::path m = CopyModel("llama-gqa-f32", d);
  nlohmann::json c = testing::ReadJson(m / "config.json");
  c["intermediate_size"] = 96;
  testing::WriteText(m / "config.json", c.dump());
  ExpectOneLineError(
      RunLoom("generate --model " + m.string() + " --prompt-ids 1,2"),
      "tensor 'model.layers.0.mlp.gate_proj.weight' has shape [128, 64], expected [96, 64]");
}

TEST(Cli, BadConfigJson) {
  TempDir d;
  const fs::path m = CopyModel("llama-gqa-f32", d);
  testing::WriteText(m / "config.json", "{\"architectures\": [");
  ExpectOneLineError(RunLoom("generate --model " + m.string() + " --prompt-ids 1,2"),
                     "config.json");
}

TEST(Cli, BadArguments) {
  const std::string model = (testing::ModelsDir() / "llama-gqa-f32").string();
  ExpectOneLineError(RunLoom("generate --model " + model + " --prompt-ids 1,x"), "'x'");
  ExpectOneLineError(RunLoom("generate --model " + model + " --prompt-ids 1,999"), "999");
  ExpectOneLineError(RunLoom("generate --model " + model + " --prompt-ids 1 --max-tokens -3"),
                     "max_tokens must be at least 1");
  ExpectOneLineError(RunLoom("generate --model " + model), "--prompt");
  ExpectOneLineError(RunLoom("frobnicate"), "subcommand");
  ExpectOneLineError(RunLoom(""), "subcommand");
}

// The bytes of every weight matrix a decode step reads (q/k/v/o, gate/up/down, lm_head),
// computed from config.json: what `bench latency` must report as decode_weight_bytes_per_token.
int64_t WeightMatrixElems(const fs::path& model) {
  std::ifstream in(model / "config.json");
  const nlohmann::json c = nlohmann::json::parse(in);
  const int64_t h = c["hidden_size"], f = c["intermediate_size"], v = c["vocab_size"];
  const int64_t heads = c["num_attention_heads"], kv = c["num_key_value_heads"];
  const int64_t hd = h / heads;
  const int64_t layer = 2 * h * heads * hd + 2 * h * kv * hd + 3 * h * f;
  return int64_t{c["num_hidden_layers"]} * layer + v * h;
}

TEST(Cli, BenchLatencyJson) {
  const fs::path model = testing::ModelsDir() / "llama-gqa-f32";
  const std::string base = "bench latency --model " + model.string() +
                           " --batch-size 2 --input-len 8 --output-len 4 --num-iters 1 --json"
                           " --read-buffer-mib 64";
  for (const std::string quant : {"", "q8_0"}) {
    const testing::CommandResult r =
        RunLoom(base + (quant.empty() ? "" : " --quantization " + quant));
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const nlohmann::json j = nlohmann::json::parse(r.out);
    for (const char* k : {"prefill_tokens_per_s", "decode_tokens_per_s", "decode_steps_per_s",
                          "decode_weight_bytes_per_token", "decode_weight_gb_per_s",
                          "machine_read_gb_per_s", "bandwidth_fraction", "avg_latency_s"}) {
      ASSERT_TRUE(j.contains(k) && j[k].is_number()) << k << " in " << r.out;
      EXPECT_GT(j[k].get<double>(), 0) << k;
    }
    EXPECT_EQ(j["batch_size"], 2);
    EXPECT_EQ(j["input_len"], 8);
    EXPECT_EQ(j["output_len"], 4);
    EXPECT_EQ(j["decode_steps"], 3);  // the first token comes from prefill
    EXPECT_GT(j["threads"].get<int>(), 0);
    EXPECT_EQ(j["weights_dtype"], "f32");
    EXPECT_EQ(j["quantization"], quant);
    const int64_t elems = WeightMatrixElems(model);
    // f32: 4 bytes an element; q8_0: 34-byte blocks of 32 (every Linear, lm_head included).
    EXPECT_EQ(j["decode_weight_bytes_per_token"].get<int64_t>(),
              quant.empty() ? elems * 4 : elems / 32 * 34);
    EXPECT_NEAR(j["decode_weight_gb_per_s"].get<double>(),
                j["decode_weight_bytes_per_token"].get<double>() *
                    j["decode_steps_per_s"].get<double>() / 1e9,
                1e-6 * j["decode_weight_gb_per_s"].get<double>());
    // One timed batch: its share is against the mean of the reads before and after it.
    const std::vector<double> reads = j["machine_read_samples_gb_per_s"];
    ASSERT_EQ(reads.size(), 2u);
    EXPECT_NEAR(j["machine_read_gb_per_s"].get<double>(), (reads[0] + reads[1]) / 2, 1e-9);
    EXPECT_NEAR(j["bandwidth_fraction"].get<double>(),
                j["decode_weight_gb_per_s"].get<double>() / ((reads[0] + reads[1]) / 2), 1e-9);
    EXPECT_EQ(j["bandwidth_fractions"].size(), 1u);
  }
  ExpectOneLineError(RunLoom("bench latency --model " + model.string() + " --batch-size 0"),
                     "--batch-size");
}

TEST(Cli, BenchMatmulReportsItsShareOfTheInstructionPeak) {
  // Where the Q4_0 kernel multiplies with vpdpbusd (Isa::kAvx512Bf16), a second line gives that
  // instruction's measured peak and the matmul's share of it.
  const testing::CommandResult r =
      RunLoom("bench matmul --m 2 --n 64 --k 256 --dtype q4_0 --iters 3 --threads 1");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::smatch mm;
  ASSERT_TRUE(std::regex_search(r.out, mm, std::regex(R"(threads=1: .*, ([0-9.]+) GFLOP/s)")))
      << r.out;
  std::smatch pk;
  const bool has_peak = std::regex_search(
      r.out, pk,
      std::regex(R"(vpdpbusd peak ([0-9.]+) GFLOP/s on 1 threads \(registers only\): )"
                 R"(the matmul reached ([0-9]+)%)"));
  ASSERT_EQ(has_peak, kernels::ActiveIsa() == kernels::Isa::kAvx512Bf16) << r.out;
  if (has_peak) {
    const double matmul = std::stod(mm[1]), peak = std::stod(pk[1]);
    EXPECT_GT(peak, 0);
    // The printed figures are rounded: to 0.1 GFLOP/s and to whole percent.
    EXPECT_NEAR(std::stod(pk[2]), 100 * matmul / peak,
                0.51 + 100 * 0.05 * (matmul + peak) / (peak * peak));
  }
  ExpectOneLineError(RunLoom("bench matmul --dtype q4_9"), "--dtype must be");
}

TEST(Cli, DtypeFlag) {
  // auto (activations rounded as llama.cpp rounds them, on CPUs that can) and float32 both run a
  // bf16 checkpoint; anything else is a one-line error naming the flag.
  const std::string base = "generate --model " +
                           (testing::ModelsDir() / "llama3-rope-bf16-tied").string() +
                           " --prompt-ids 1,2,3 --max-tokens 3 --temperature 0 --ignore-eos";
  for (const std::string d : {"auto", "float32"}) {
    const testing::CommandResult r = RunLoom(base + " --dtype " + d);
    EXPECT_EQ(r.exit_code, 0) << d << ": " << r.err;
  }
  ExpectOneLineError(RunLoom(base + " --dtype float16"), "--dtype must be auto or float32");
}

TEST(Cli, BenchThroughputJson) {
  const fs::path model = testing::ModelsDir() / "llama-gqa-f32";
  const testing::CommandResult r = RunLoom("bench throughput --model " + model.string() +
                                           " --num-prompts 6 --input-len 8 --output-len 5 --json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const nlohmann::json j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["num_prompts"], 6);
  EXPECT_EQ(j["prompt_tokens"], 48);
  EXPECT_EQ(j["output_tokens"], 30);  // ignore_eos: every request runs to --output-len
  for (const char* k :
       {"elapsed_s", "requests_per_s", "total_tokens_per_s", "output_tokens_per_s"}) {
    ASSERT_TRUE(j.contains(k) && j[k].is_number()) << k << " in " << r.out;
    EXPECT_GT(j[k].get<double>(), 0) << k;
  }
  EXPECT_NEAR(j["total_tokens_per_s"].get<double>() / j["output_tokens_per_s"].get<double>(),
              78.0 / 30.0, 1e-9);
}

}  // namespace
}  // namespace loom
