// The interface layer: flags derive from types, the registry agrees with its classes, and the
// data helpers (multimodal merge, intermediate tensors) keep their contracts.
#include "models/registry.h"

#include <gtest/gtest.h>

#include "models/llama.h"
#include "test_util.h"

namespace loom {
namespace {

// A type implementing a few interfaces: the derived flags must say exactly those.
class FakeLoraPpModel : public SupportsLoRA, public SupportsPP, public SupportsV0Only {
 public:
  std::map<std::string, std::vector<std::string>> PackedModulesMapping() const override {
    return {};
  }
  std::vector<std::string> EmbeddingModules() const override { return {}; }
  IntermediateTensors MakeEmptyIntermediateTensors(int64_t, DType) const override { return {}; }
};

TEST(ModelInfo, FlagsAreDerivedFromTheType) {
  const ModelInfo info =
      MakeModelInfo<FakeLoraPpModel>("Fake", RunnerType::kGenerate, AttentionType::kDecoder);
  EXPECT_TRUE(info.supports_lora);
  EXPECT_TRUE(info.supports_pp);
  EXPECT_TRUE(info.supports_v0_only);
  int set = 0;
  for (const ModelInfoFlag& f : ModelInfoFlags()) set += info.*f.field ? 1 : 0;
  EXPECT_EQ(set, 3);
}

TEST(ModelInfo, FlagNamesAreExactlyTheDocumentedOnes) {
  std::vector<std::string> names;
  for (const ModelInfoFlag& f : ModelInfoFlags()) names.emplace_back(f.name);
  EXPECT_EQ(names, (std::vector<std::string>{
                       "supports_multimodal", "supports_lora", "supports_pp", "has_inner_state",
                       "is_attention_free", "is_hybrid", "has_noops", "supports_cross_encoding",
                       "supports_quant", "supports_transcription", "supports_v0_only"}));
}

TEST(Registry, EveryEntryMatchesWhatItsTypeImplies) {
  // The Llama family implements no optional interface yet.
  const ModelInfo llama_type =
      MakeModelInfo<LlamaForCausalLM>("", RunnerType::kGenerate, AttentionType::kDecoder);
  ASSERT_FALSE(ModelRegistry().empty());
  for (const ModelEntry& e : ModelRegistry()) {
    ModelInfo expected = llama_type;
    expected.architecture = std::string(e.architecture);
    EXPECT_EQ(e.info, expected) << e.architecture;
    Result<ModelInfo> got = GetModelInfo(e.architecture);
    ASSERT_TRUE(got.ok());
    EXPECT_EQ(*got, e.info);
  }
}

TEST(Registry, LoadedInstancesReportTheRegistryFlags) {
  for (const auto& dir : std::filesystem::directory_iterator(testing::ModelsDir())) {
    Result<std::unique_ptr<Model>> m = LoadModel(dir.path());
    ASSERT_TRUE(m.ok()) << m.status().message();
    Result<ModelInfo> reg = GetModelInfo((*m)->config().architectures[0]);
    ASSERT_TRUE(reg.ok());
    EXPECT_EQ(InfoOf(**m), *reg);
    EXPECT_FALSE(Implements<SupportsLoRA>(**m));
    EXPECT_EQ(As<SupportsPP>(**m), nullptr);
  }
}

TEST(Registry, UnknownArchitectureListsSupported) {
  Result<ModelInfo> r = GetModelInfo("GPT2LMHeadModel");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("GPT2LMHeadModel"), std::string::npos);
  EXPECT_NE(r.status().message().find("LlamaForCausalLM"), std::string::npos);
}

Tensor Filled(Shape shape, float start) {
  Tensor t = Tensor::Zeros(DType::kF32, std::move(shape));
  for (int64_t i = 0; i < t.numel(); ++i) t.data<float>()[i] = start + static_cast<float>(i);
  return t;
}

TEST(MultiModal, MergeScattersItemsInPromptOrder) {
  Tensor embeds = Filled({5, 2}, 0.0f);  // rows 1, 2 and 4 are placeholders
  MultiModalEmbeddings mm{{Filled({2, 2}, 100.0f), Filled({1, 2}, 200.0f)}};
  const bool mask[] = {false, true, true, false, true};
  ASSERT_TRUE(MergeMultiModalEmbeddings(embeds, mm, mask).ok());
  const float* e = embeds.data<float>();
  EXPECT_EQ(std::vector<float>(e, e + 10),
            (std::vector<float>{0, 1, 100, 101, 102, 103, 6, 7, 200, 201}));
}

TEST(MultiModal, MergeFailsWhenCountsDiffer) {
  Tensor embeds = Filled({3, 2}, 0.0f);
  MultiModalEmbeddings mm{{Filled({2, 2}, 100.0f)}};
  const bool mask[] = {true, false, false};
  Status s = MergeMultiModalEmbeddings(embeds, mm, mask);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("1 multimodal placeholder"), std::string::npos) << s.message();
  EXPECT_EQ(embeds.data<float>()[0], 0.0f);  // nothing written
  MultiModalEmbeddings wrong_hidden{{Filled({1, 3}, 0.0f)}};
  EXPECT_FALSE(MergeMultiModalEmbeddings(embeds, wrong_hidden, mask).ok());
}

TEST(IntermediateTensors, NamedTensors) {
  IntermediateTensors it;
  it.Set("hidden_states", Filled({2, 4}, 0.0f));
  EXPECT_TRUE(it.Get("hidden_states").ok());
  EXPECT_FALSE(it.Get("residual").ok());
}

}  // namespace
}  // namespace loom
