// GPTQ and AWQ checkpoints (tests/data/quant_models, made by
// tools/reference/make_quant_checkpoints.py): the packed weights are repacked into Q4_0 / Q5_0 /
// Q8_0 holding the checkpoint's values exactly, and the model matches the PyTorch reference (which
// dequantizes independently) to f32 noise; partially quantized fused layers and bad tensors or
// configs are clear errors.
#include <gtest/gtest.h>

#include <cmath>

#include "engine/llm.h"
#include "golden_util.h"
#include "kernels/kernels.h"
#include "models/gptq_awq.h"
#include "models/registry.h"
#include "test_util.h"

namespace loom {
namespace {

namespace fs = std::filesystem;

fs::path QuantModelsDir() { return testing::SourceDir() / "tests/data/quant_models"; }

std::vector<std::string> GoldenModels() {
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(QuantModelsDir())) {
    if (fs::exists(e.path() / "golden.json")) names.push_back(e.path().filename());
  }
  std::sort(names.begin(), names.end());
  return names;
}

// [out, in] of a Llama-family Linear module.
std::pair<int64_t, int64_t> ModuleShape(const ModelConfig& c, const std::string& module) {
  const int64_t h = c.hidden_size, q = c.num_attention_heads * c.head_dim,
                kv = c.num_key_value_heads * c.head_dim;
  const auto ends = [&](const char* s) { return module.ends_with(s); };
  if (module == "lm_head") return {c.vocab_size, h};
  if (ends("q_proj")) return {q, h};
  if (ends("k_proj") || ends("v_proj")) return {kv, h};
  if (ends("o_proj")) return {h, q};
  if (ends("gate_proj") || ends("up_proj")) return {c.intermediate_size, h};
  return {h, c.intermediate_size};  // down_proj
}

class QuantGoldenTest : public ::testing::TestWithParam<std::string> {};

// Every Linear has the block type the reference expects, and the repacked rows dequantize to the
// reference's dequantized weights bit for bit (through the act-order permutation).
TEST_P(QuantGoldenTest, RepackedWeightsAreExact) {
  const fs::path dir = QuantModelsDir() / GetParam();
  const nlohmann::json golden = testing::ReadJson(dir / "golden.json");
  Result<ModelConfig> c = LoadModelConfig(dir);
  ASSERT_TRUE(c.ok()) << c.status().message();
  ASSERT_TRUE(c->quantization.has_value());
  EXPECT_EQ(c->quantization->method, golden["quant_method"].get<std::string>());
  Result<WeightStore> store = WeightStore::OpenDir(dir);
  ASSERT_TRUE(store.ok()) << store.status().message();
  // float32: the rows as repacked from the checkpoint, in no interleaved layout.
  const WeightLoader loader(*store, testing::kF32Activations, c->quantization);
  int samples = 0;
  for (const auto& [module, dtype] : golden["weight_dtypes"].items()) {
    const auto [out, in] = ModuleShape(*c, module);
    Result<LinearWeight> lw = loader.GetLinearWeight(module, out, in);
    ASSERT_TRUE(lw.ok()) << lw.status().message();
    EXPECT_EQ(DTypeName(lw->weight.dtype()), dtype.get<std::string>()) << module;
    EXPECT_EQ(lw->weight.shape(), (Shape{out, in})) << module;
    const bool act_order = golden["act_order"].value(module, false);
    EXPECT_EQ(!lw->input_perm.empty(), act_order) << module;
    std::vector<int64_t> column_of(in);  // input column -> weight column
    for (int64_t j = 0; j < in; ++j) column_of[lw->input_perm.empty() ? j : lw->input_perm[j]] = j;
    std::vector<float> row(in);
    for (const auto& s : golden["weight_samples"][module]) {
      const int64_t o = s[0], i = s[1];
      kernels::Dequantize(
          static_cast<const char*>(lw->weight.raw()) + o * RowBytes(lw->weight.dtype(), in),
          lw->weight.dtype(), row.data(), in);
      EXPECT_EQ(row[column_of[i]], s[2].get<float>()) << module << " [" << o << ", " << i << "]";
      ++samples;
    }
  }
  EXPECT_GT(samples, 0);
}

TEST_P(QuantGoldenTest, PromptLogprobsAndGreedyTokensMatchReference) {
  const fs::path dir = QuantModelsDir() / GetParam();
  const nlohmann::json golden = testing::ReadJson(dir / "golden.json");
  Result<std::unique_ptr<Model>> model = LoadModel(dir, testing::kF32Activations);
  ASSERT_TRUE(model.ok()) << model.status().message();
  SupportsQuant* quant = As<SupportsQuant>(**model);
  ASSERT_NE(quant, nullptr);
  EXPECT_EQ(quant->QuantMethod(), golden["quant_method"].get<std::string>());

  // The issue asks for 1e-3; exact repacking leaves only f32 summation-order noise (the
  // reference's own f32-vs-f64 gap is ~2-4e-5), so hold it to model_golden_test's 1e-4.
  const double tol = 1e-4;
  testing::ExpectMatchesGolden(std::move(*model), golden, tol, GetParam());
}

INSTANTIATE_TEST_SUITE_P(Reference, QuantGoldenTest, ::testing::ValuesIn(GoldenModels()),
                         [](const auto& info) { return testing::ParamName(info.param); });

TEST(QuantCheckpoint, CoversTheFormats) {
  std::set<std::string> methods, dtypes;
  bool v1 = false, v2 = false, act_order = false, group_all = false, bits8 = false, lm_head = false,
       mixed = false;
  for (const std::string& name : GoldenModels()) {
    const fs::path dir = QuantModelsDir() / name;
    Result<ModelConfig> c = LoadModelConfig(dir);
    ASSERT_TRUE(c.ok());
    const CheckpointQuantization& q = *c->quantization;
    methods.insert(q.method);
    const nlohmann::json golden = testing::ReadJson(dir / "golden.json");
    for (const auto& [m, d] : golden["weight_dtypes"].items()) {
      dtypes.insert(d.get<std::string>());
      lm_head |= m == "lm_head" && d != "f16";
    }
    for (const auto& [m, a] : golden["act_order"].items()) act_order |= a.get<bool>();
    if (q.method == "gptq") (q.zeros_minus_one ? v1 : v2) = true;
    group_all |= q.group_size == -1;
    bits8 |= q.bits == 8;
    mixed |= golden["weight_dtypes"].dump().find("\"f16\"") != std::string::npos;
  }
  EXPECT_EQ(methods, (std::set<std::string>{"awq", "gptq"}));
  EXPECT_EQ(dtypes, (std::set<std::string>{"f16", "q4_0", "q5_0", "q8_0"}));
  EXPECT_TRUE(v1 && v2 && act_order && group_all && bits8 && lm_head && mixed);
}

TEST(QuantCheckpoint, PartiallyQuantizedFusedLayerIsAnError) {
  Result<std::unique_ptr<Model>> m = LoadModel(QuantModelsDir() / "awq-partial-fused-qkv");
  ASSERT_FALSE(m.ok());
  const std::string msg = m.status().message();
  EXPECT_NE(msg.find("layer 'model.layers.0.self_attn'"), std::string::npos) << msg;
  EXPECT_NE(msg.find("fused module qkv_proj (q_proj, k_proj, v_proj)"), std::string::npos) << msg;
  EXPECT_NE(msg.find("q_proj, v_proj are awq-quantized"), std::string::npos) << msg;
  EXPECT_NE(msg.find("k_proj is not"), std::string::npos) << msg;
}

// A copy of checkpoint `name` whose config.json quantization_config is patched.
class PatchedCheckpoint {
 public:
  PatchedCheckpoint(const std::string& name, const nlohmann::json& patch) {
    const fs::path src = QuantModelsDir() / name;
    fs::copy_file(src / "model.safetensors", dir_.path() / "model.safetensors");
    nlohmann::json cfg = testing::ReadJson(src / "config.json");
    cfg["quantization_config"].merge_patch(patch);
    testing::WriteText(dir_.path() / "config.json", cfg.dump());
  }
  std::string LoadError(const LoadOptions& options = {}) const {
    Result<std::unique_ptr<Model>> m = LoadModel(dir_.path(), options);
    return m.ok() ? "" : m.status().message();
  }

 private:
  testing::TempDir dir_;
};

TEST(QuantCheckpoint, BadConfigsAndTensorsAreClearErrors) {
  const auto contains = [](const std::string& msg, const std::string& want) {
    return msg.find(want) != std::string::npos;
  };
  // The layout differs from what config.json says: the error names the file and the tensor.
  std::string e = PatchedCheckpoint("gptq-4bit-sym-g128", {{"group_size", 64}}).LoadError();
  EXPECT_TRUE(contains(
      e,
      "model.safetensors: tensor 'model.layers.0.self_attn.q_proj.qzeros' has shape [1, 16], "
      "expected [2, 16]"))
      << e;
  e = PatchedCheckpoint("gptq-4bit-sym-g128", {{"bits", 8}}).LoadError();
  EXPECT_TRUE(contains(
      e,
      "tensor 'model.layers.0.self_attn.q_proj.qweight' has shape [16, 128], expected [32, 128]"))
      << e;
  e = PatchedCheckpoint("gptq-4bit-sym-g128", {{"bits", 3}}).LoadError();
  EXPECT_TRUE(contains(e, "GPTQ with 3 bits is not supported")) << e;
  e = PatchedCheckpoint("gptq-4bit-sym-g128", {{"checkpoint_format", "marlin"}}).LoadError();
  EXPECT_TRUE(contains(e, "checkpoint_format 'marlin' is not supported")) << e;
  e = PatchedCheckpoint("awq-4bit-g64", {{"version", "gemv"}}).LoadError();
  EXPECT_TRUE(contains(e, "AWQ version 'gemv' is not supported")) << e;
  e = PatchedCheckpoint("awq-4bit-g64", {{"quant_method", "bitsandbytes"}}).LoadError();
  EXPECT_TRUE(contains(e, "quant_method 'bitsandbytes' is not supported (supported: gptq, awq)"))
      << e;
  // AWQ tensors read as GPTQ: qweight [64, 16] is not GPTQ's [8, 128].
  e = PatchedCheckpoint("awq-4bit-g64", {{"quant_method", "gptq"}, {"desc_act", false}})
          .LoadError();
  EXPECT_TRUE(contains(e, "q_proj.qweight' has shape [64, 8], expected [8, 64]")) << e;
  // v1 zeros read as v2: 8-bit symmetric zeros become 127 and q - zero reaches 128.
  e = PatchedCheckpoint("gptq-8bit-sym-g64-lmhead", {{"checkpoint_format", "gptq_v2"}}).LoadError();
  EXPECT_TRUE(contains(e, "beyond int8's [-128, 127]")) << e;
  // GPTQModel's per-module `dynamic` rules: skipping modules or steering the quantizer is fine,
  // changing the layout per module is not supported.
  e = PatchedCheckpoint("gptq-4bit-sym-g128",
                        {{"dynamic",
                          {{"-:.*lm_head", nlohmann::json::object()},
                           {"+:.*down_proj", {{"damp_percent", 0.1}, {"bits", 4}}}}}})
          .LoadError();
  EXPECT_EQ(e, "");
  e = PatchedCheckpoint("gptq-4bit-sym-g128", {{"dynamic", {{"+:.*down_proj", {{"bits", 8}}}}}})
          .LoadError();
  EXPECT_TRUE(contains(e, "dynamic rule '+:.*down_proj' overrides 'bits' per module")) << e;
  // Online quantization on top of a quantized checkpoint.
  LoadOptions q8;
  q8.quantization = DType::kQ8_0;
  e = PatchedCheckpoint("awq-4bit-g64", nlohmann::json::object()).LoadError(q8);
  EXPECT_TRUE(contains(e,
                       "--quantization q8_0 cannot be applied to this checkpoint: its weights are "
                       "already awq-quantized"))
      << e;
}

// Synthetic GPTQ module tensors: in 64, out 8, 4-bit, every q `q` and every stored zero `z`.
std::vector<testing::FakeTensor> GptqModule(int64_t groups, const std::string& scale_dtype,
                                            float scale, uint32_t q = 9, uint32_t z = 7) {
  const auto bytes = [](const auto& v) {
    return std::string(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(v[0]));
  };
  std::vector<uint32_t> qweight(8 * 8, q * 0x11111111u), qzeros(groups, z * 0x11111111u);
  std::vector<int32_t> g_idx(64);
  for (int i = 0; i < 64; ++i) g_idx[i] = static_cast<int32_t>(i * groups / 64);
  std::string scales;
  for (int64_t i = 0; i < groups * 8; ++i) {
    if (scale_dtype == "F16") {
      const uint16_t h = F32ToF16(scale);
      scales.append(reinterpret_cast<const char*>(&h), 2);
    } else {
      scales.append(reinterpret_cast<const char*>(&scale), 4);
    }
  }
  return {{"m.qweight", "I32", {8, 8}, bytes(qweight)},
          {"m.qzeros", "I32", {groups, 1}, bytes(qzeros)},
          {"m.scales", scale_dtype, {groups, 8}, scales},
          {"m.g_idx", "I32", {64}, bytes(g_idx)}};
}

TEST(QuantCheckpoint, RepackSyntheticModules) {
  testing::TempDir dir;
  const fs::path file = dir.path() / "m.safetensors";
  CheckpointQuantization q;
  q.method = "gptq";
  q.zeros_minus_one = true;

  // Groups of 32: exact Q4_0 (nibble 9 = q - zero + 8), d = the scale.
  q.group_size = 32;
  testing::WriteSafetensors(file, GptqModule(2, "F16", 0.5f));
  Result<WeightStore> store = WeightStore::OpenFile(file);
  ASSERT_TRUE(store.ok()) << store.status().message();
  Result<LinearWeight> lw = LoadPackedLinear(*store, "m", 8, 64, q);
  ASSERT_TRUE(lw.ok()) << lw.status().message();
  EXPECT_EQ(lw->weight.dtype(), DType::kQ4_0);
  std::vector<float> row(64);
  kernels::Dequantize(lw->weight.raw(), DType::kQ4_0, row.data(), 64);
  EXPECT_EQ(row, std::vector<float>(64, 0.5f));

  // q 0, zero 16 (stored 15): -16 needs Q5_0.
  testing::WriteSafetensors(file, GptqModule(2, "F16", 0.5f, 0, 15));
  store = WeightStore::OpenFile(file);
  lw = LoadPackedLinear(*store, "m", 8, 64, q);
  ASSERT_TRUE(lw.ok()) << lw.status().message();
  EXPECT_EQ(lw->weight.dtype(), DType::kQ5_0);
  kernels::Dequantize(lw->weight.raw(), DType::kQ5_0, row.data(), 64);
  EXPECT_EQ(row, std::vector<float>(64, -8.0f));

  // F32 scales load when they are f16 values, and are refused when not (Q4_0 / Q5_0 / Q8_0 keep
  // f16).
  testing::WriteSafetensors(file, GptqModule(2, "F32", 0.25f));
  store = WeightStore::OpenFile(file);
  EXPECT_TRUE(LoadPackedLinear(*store, "m", 8, 64, q).ok());
  testing::WriteSafetensors(file, GptqModule(2, "F32", 0.1f));
  store = WeightStore::OpenFile(file);
  lw = LoadPackedLinear(*store, "m", 8, 64, q);
  ASSERT_FALSE(lw.ok());
  EXPECT_NE(lw.status().message().find("tensor 'm.scales' element 0 (0.1) is not an f16 value"),
            std::string::npos)
      << lw.status().message();

  // Groups of 16 split the 32-column blocks.
  q.group_size = 16;
  testing::WriteSafetensors(file, GptqModule(4, "F16", 0.5f));
  store = WeightStore::OpenFile(file);
  lw = LoadPackedLinear(*store, "m", 8, 64, q);
  ASSERT_FALSE(lw.ok());
  EXPECT_NE(lw.status().message().find("share a 32-column block but belong to groups 0 and 1"),
            std::string::npos)
      << lw.status().message();

  // Act-order g_idx out of range.
  q.group_size = 32;
  q.desc_act = true;
  std::vector<testing::FakeTensor> t = GptqModule(2, "F16", 0.5f);
  reinterpret_cast<int32_t*>(t[3].bytes.data())[5] = 2;
  testing::WriteSafetensors(file, t);
  store = WeightStore::OpenFile(file);
  lw = LoadPackedLinear(*store, "m", 8, 64, q);
  ASSERT_FALSE(lw.ok());
  EXPECT_NE(lw.status().message().find("tensor 'm.g_idx' element 5 is 2, outside [0, 2)"),
            std::string::npos)
      << lw.status().message();
}

}  // namespace
}  // namespace loom

namespace loom {
namespace {

// --quantization q8_0|q4_0|q4_k on the built-in (trained, bf16) model: every Linear weight is
// block-quantized at load, and the log-probabilities of a held-out verse stay close to PyTorch's
// for the unquantized model (tools/train_demo/heldout_reference.json), the error growing as the
// format narrows; an unknown method is an error.
TEST(OnlineQuantization, QuantizesLinearsAndStaysCloseToTheReference) {
  const auto dir = testing::SourceDir() / "models/builtin";
  const nlohmann::json ref = testing::ReadJson(
      testing::SourceDir() / "tools/train_demo/heldout_reference.json")["reference"];
  const std::vector<int32_t> ids = ref["ids"];
  std::map<std::string, double> mean;
  for (const std::string method : {"", "q8_0", "q4_0", "q4_k"}) {
    EngineConfig ec;
    ec.kv_cache_memory = 8 << 20;
    ec.kv_cache_dtype = "f32";
    ec.quantization = method;
    Result<std::unique_ptr<LLM>> llm = LLM::Load(dir, ec);
    ASSERT_TRUE(llm.ok()) << llm.status().message();
    const auto* quant = dynamic_cast<const SupportsQuant*>(&(*llm)->engine().model());
    ASSERT_NE(quant, nullptr);
    EXPECT_EQ(quant->QuantMethod(), method);
    SamplingParams p =
        *SamplingParams::FromJson({{"temperature", 0}, {"max_tokens", 1}, {"prompt_logprobs", 0}});
    Result<std::vector<RequestResult>> r = (*llm)->Generate({ids}, {p});
    ASSERT_TRUE(r.ok()) << r.status().message();
    double sum = 0;
    for (size_t t = 0; t + 1 < ids.size(); ++t) {
      sum += std::abs((*r)[0].prompt_logprobs[t].logprob - ref["logprobs"][t + 1].get<double>());
    }
    mean[method] = sum / static_cast<double>(ids.size() - 1);
    std::printf("[ %s ] mean |logprob - torch| over the held-out verse: %.3g\n",
                method.empty() ? "bf16" : method.c_str(), mean[method]);
  }
  EXPECT_LT(mean[""], 2e-3);  // bf16 weights computed in f32: the reference itself
  EXPECT_GT(mean["q8_0"], mean[""]);
  EXPECT_LT(mean["q8_0"], 0.01);
  EXPECT_LT(mean["q4_0"], 0.2);
  EXPECT_LT(mean["q4_k"], 0.1);
  EXPECT_LT(mean["q8_0"], mean["q4_k"]);
  EXPECT_LT(mean["q4_k"], mean["q4_0"]);  // K blocks keep more of the weights than Q4_0
  EngineConfig bad;
  bad.quantization = "q3_x";
  Result<std::unique_ptr<LLM>> llm = LLM::Load(dir, bad);
  ASSERT_FALSE(llm.ok());
  EXPECT_NE(llm.status().message().find("--quantization must be q8_0, q4_0 or q4_k"),
            std::string::npos);
}

}  // namespace
}  // namespace loom
