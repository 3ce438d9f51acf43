// safetensors reader and HF config parsing: good files, and every kind of bad file gives a clear
// error naming the file or tensor, never a crash.
#include <gtest/gtest.h>

#include "loader/hf_config.h"
#include "loader/safetensors.h"
#include "test_util.h"

namespace loom {
namespace {

using testing::F32Bytes;
using testing::TempDir;
using testing::WriteSafetensors;
using testing::WriteText;

TEST(Safetensors, ReadsTensorsZeroCopy) {
  TempDir d;
  WriteSafetensors(d.path() / "model.safetensors",
                   {{"a", "F32", {2, 3}, F32Bytes({1, 2, 3, 4, 5, 6})},
                    {"b", "BF16", {2}, std::string("\x80\x3f\x00\x40", 4)}});
  Result<WeightStore> s = WeightStore::OpenDir(d.path());
  ASSERT_TRUE(s.ok()) << s.status().message();
  Result<Tensor> a = s->Get("a");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->shape(), (Shape{2, 3}));
  EXPECT_EQ(a->dtype(), DType::kF32);
  EXPECT_EQ(a->data<float>()[5], 6.0f);
  Result<Tensor> b = s->Get("b");
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->dtype(), DType::kBF16);
  Tensor bf = b->ToF32();
  EXPECT_EQ(bf.data<float>()[0], 1.0f);
  EXPECT_EQ(bf.data<float>()[1], 2.0f);
  EXPECT_FALSE(s->Get("c").ok());
  EXPECT_NE(s->Get("c").status().message().find("'c'"), std::string::npos);
}

TEST(Safetensors, EveryTruncationIsAnErrorNamingTheFile) {
  TempDir d;
  const auto full = d.path() / "full.safetensors";
  WriteSafetensors(full, {{"w", "F32", {4, 4}, F32Bytes(std::vector<float>(16, 1.0f))}});
  const std::string bytes = testing::ReadBytes(full);
  const auto cut = d.path() / "cut.safetensors";
  for (size_t n = 0; n < bytes.size(); ++n) {
    WriteText(cut, bytes.substr(0, n));
    Result<WeightStore> s = WeightStore::OpenFile(cut);
    ASSERT_FALSE(s.ok()) << "accepted a file truncated to " << n << " bytes";
    EXPECT_NE(s.status().message().find("cut.safetensors"), std::string::npos)
        << s.status().message();
  }
  EXPECT_TRUE(WeightStore::OpenFile(full).ok());
}

TEST(Safetensors, CorruptHeadersAreErrors) {
  TempDir d;
  const auto p = d.path() / "x.safetensors";
  const auto expect_error = [&](const std::string& header_json, const std::string& data,
                                const std::string& needle) {
    std::string h = header_json;
    const uint64_t len = h.size();
    WriteText(p, std::string(reinterpret_cast<const char*>(&len), 8) + h + data);
    Result<WeightStore> s = WeightStore::OpenFile(p);
    ASSERT_FALSE(s.ok()) << header_json;
    EXPECT_NE(s.status().message().find(needle), std::string::npos) << s.status().message();
  };
  expect_error("{not json", "", "not a JSON object");
  expect_error(R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[0,4]}})", "abcd",
               "do not match shape");
  expect_error(R"({"w":{"dtype":"I8","shape":[4],"data_offsets":[0,4]}})", "abcd", "dtype I8");
  expect_error(R"({"w":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}})", "abcd", "'w'");
  expect_error(R"({"w":{"dtype":"F32","shape":[1],"data_offsets":[4,0]}})", "abcd", "outside");
  expect_error(R"({"w":{"dtype":"F32","shape":[1]}})", "abcd", "data_offsets");
  expect_error(
      R"({"w":{"dtype":"F32","shape":[1099511627776,1099511627776],"data_offsets":[0,4]}})", "abcd",
      "too large");
  // A header length beyond the file.
  WriteText(p, std::string("\xff\xff\xff\xff\x00\x00\x00\x00", 8) + "{}");
  EXPECT_FALSE(WeightStore::OpenFile(p).ok());
}

TEST(Safetensors, RandomByteMutationsNeverCrash) {
  // A cheap deterministic fuzz: flip bytes of a valid file (header and data) and reopen it. Any
  // outcome is fine except a crash or a tensor view outside the file (ASan would catch that).
  TempDir d;
  const auto good = d.path() / "good.safetensors";
  WriteSafetensors(good, {{"a", "F32", {3, 2}, F32Bytes({1, 2, 3, 4, 5, 6})},
                          {"b", "F16", {4}, std::string(8, '\x3c')}});
  const std::string bytes = testing::ReadBytes(good);
  std::mt19937 rng(1234);
  const auto p = d.path() / "mut.safetensors";
  int rejected = 0;
  for (int iter = 0; iter < 2000; ++iter) {
    std::string m = bytes;
    const int flips = 1 + static_cast<int>(rng() % 4);
    for (int f = 0; f < flips; ++f) m[rng() % m.size()] = static_cast<char>(rng() % 256);
    WriteText(p, m);
    Result<WeightStore> s = WeightStore::OpenFile(p);
    if (!s.ok()) {
      ++rejected;
      continue;
    }
    for (const std::string& name : s->Names()) {
      Tensor t = *s->Get(name);
      if (t.numel() == 0) continue;
      volatile float sink = t.ToF32().data<float>()[0];  // touch the data
      (void)sink;
    }
  }
  EXPECT_GT(rejected, 0);
}

TEST(Safetensors, ShardedIndex) {
  TempDir d;
  WriteSafetensors(d.path() / "a.safetensors", {{"x", "F32", {1}, F32Bytes({1})}});
  WriteSafetensors(d.path() / "b.safetensors", {{"y", "F32", {1}, F32Bytes({2})}});
  WriteText(d.path() / "model.safetensors.index.json",
            R"({"metadata":{},"weight_map":{"x":"a.safetensors","y":"b.safetensors"}})");
  Result<WeightStore> s = WeightStore::OpenDir(d.path());
  ASSERT_TRUE(s.ok()) << s.status().message();
  EXPECT_EQ(s->Get("y")->data<float>()[0], 2.0f);
  EXPECT_EQ(s->FileOf("y"), "b.safetensors");

  WriteText(d.path() / "model.safetensors.index.json",
            R"({"weight_map":{"x":"a.safetensors","z":"b.safetensors"}})");
  s = WeightStore::OpenDir(d.path());
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.status().message().find("'z'"), std::string::npos) << s.status().message();

  WriteText(d.path() / "model.safetensors.index.json",
            R"({"weight_map":{"x":"missing.safetensors"}})");
  s = WeightStore::OpenDir(d.path());
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.status().message().find("missing.safetensors"), std::string::npos);

  WriteText(d.path() / "model.safetensors.index.json", R"({"weight_map":{"x":"../etc/passwd"}})");
  EXPECT_FALSE(WeightStore::OpenDir(d.path()).ok());
}

TEST(Safetensors, MissingCheckpoint) {
  TempDir d;
  Result<WeightStore> s = WeightStore::OpenDir(d.path());
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.status().message().find("model.safetensors"), std::string::npos);
}

TEST(HfConfig, ParsesLlamaFieldsAndDefaults) {
  nlohmann::json j = {{"architectures", {"LlamaForCausalLM"}},
                      {"vocab_size", 32},
                      {"hidden_size", 64},
                      {"intermediate_size", 128},
                      {"num_hidden_layers", 2},
                      {"num_attention_heads", 4},
                      {"eos_token_id", {2, 3}},
                      {"rope_scaling", {{"type", "linear"}, {"factor", 2.0}}}};
  Result<ModelConfig> c = ParseModelConfig(j, "config.json");
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->num_key_value_heads, 4);
  EXPECT_EQ(c->head_dim, 16);
  EXPECT_EQ(c->rope_scaling.type, "linear");
  EXPECT_EQ(c->eos_token_ids, (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(c->rope_scaling.original_max_position_embeddings, c->max_position_embeddings);
}

TEST(HfConfig, ErrorsNameTheField) {
  nlohmann::json base = {{"architectures", {"LlamaForCausalLM"}},
                         {"vocab_size", 32},
                         {"hidden_size", 64},
                         {"intermediate_size", 128},
                         {"num_hidden_layers", 2},
                         {"num_attention_heads", 4}};
  const auto error_of = [&](nlohmann::json j) {
    Result<ModelConfig> c = ParseModelConfig(j, "config.json");
    return c.ok() ? std::string() : c.status().message();
  };
  nlohmann::json j = base;
  j["hidden_size"] = "big";
  EXPECT_NE(error_of(j).find("'hidden_size'"), std::string::npos);
  j = base;
  j.erase("vocab_size");
  EXPECT_NE(error_of(j).find("'vocab_size'"), std::string::npos);
  j = base;
  j["num_key_value_heads"] = 3;
  EXPECT_NE(error_of(j).find("num_key_value_heads"), std::string::npos);
  j = base;
  j["rope_scaling"] = {{"rope_type", "longrope"}};
  EXPECT_NE(error_of(j).find("longrope"), std::string::npos);
  j = base;
  j.erase("architectures");
  EXPECT_NE(error_of(j).find("architectures"), std::string::npos);
}

TEST(HfConfig, GenerationConfig) {
  TempDir d;
  Result<GenerationConfig> g = LoadGenerationConfig(d.path());
  ASSERT_TRUE(g.ok());
  EXPECT_TRUE(g->eos_token_ids.empty());
  WriteText(d.path() / "generation_config.json",
            R"({"eos_token_id":[7,8],"temperature":0.6,"top_p":0.9})");
  g = LoadGenerationConfig(d.path());
  ASSERT_TRUE(g.ok());
  EXPECT_EQ(g->eos_token_ids, (std::vector<int64_t>{7, 8}));
  EXPECT_DOUBLE_EQ(*g->temperature, 0.6);
  WriteText(d.path() / "generation_config.json", R"({"temperature":"hot"})");
  EXPECT_FALSE(LoadGenerationConfig(d.path()).ok());
}

}  // namespace
}  // namespace loom
