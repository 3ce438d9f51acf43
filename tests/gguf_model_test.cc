// GGUF files written and quantized by llama.cpp's own tools (../shared/testdata/gguf) run through
// Loom's Llama-family forward: logits against llama.cpp's within the tolerances recorded beside
// each file (every |diff| <= max_abs, per-sequence rms <= rms, the same argmax wherever the
// reference's margin makes it decidable), and, for block-quantized files, against the
// independent float64 forward over the exactly dequantized weights within 1e-3.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <fstream>

#include "golden_util.h"
#include "models/layers/rope.h"
#include "models/registry.h"
#include "test_util.h"

namespace loom {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

fs::path GgufDir() { return testing::SourceDir() / "../shared/testdata/gguf"; }

// A float32 C-order .npy file (version 1 header), as numpy.save writes it.
std::vector<float> ReadNpyF32(const fs::path& path, std::vector<int64_t>* shape) {
  std::ifstream in(path, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(bytes.substr(1, 5), "NUMPY") << path;
  const size_t header_len = static_cast<uint8_t>(bytes[8]) | (static_cast<uint8_t>(bytes[9]) << 8);
  const std::string header = bytes.substr(10, header_len);
  EXPECT_NE(header.find("'<f4'"), std::string::npos) << header;
  EXPECT_NE(header.find("'fortran_order': False"), std::string::npos) << header;
  shape->clear();
  const size_t open = header.find('(', header.find("'shape'")), close = header.find(')', open);
  std::string dims = header.substr(open + 1, close - open - 1);
  for (size_t pos = 0; pos < dims.size();) {
    const size_t comma = dims.find(',', pos);
    const std::string d =
        dims.substr(pos, comma == std::string::npos ? std::string::npos : comma - pos);
    if (d.find_first_of("0123456789") != std::string::npos) shape->push_back(std::stoll(d));
    if (comma == std::string::npos) break;
    pos = comma + 1;
  }
  std::vector<float> data((bytes.size() - 10 - header_len) / 4);
  std::memcpy(data.data(), bytes.data() + 10 + header_len, data.size() * 4);
  return data;
}

// Logits of every position of `tokens` (one sequence from position 0), f32 [n, vocab], with an
// f32 KV cache as the references use.
std::vector<float> Logits(Model& model, const std::vector<int32_t>& tokens) {
  const int64_t block_size = 16,
                blocks = (static_cast<int64_t>(tokens.size()) + block_size - 1) / block_size;
  PagedKvCache cache = PagedKvCache::Make(model.CacheSpecs(), blocks, block_size, DType::kF32);
  std::vector<int> table(blocks);
  for (int64_t b = 0; b < blocks; ++b) table[b] = static_cast<int>(b);
  ForwardBatch batch(blocks);
  batch.AddSequence(tokens, 0, table, block_size);
  Result<Tensor> hidden = model.Forward(batch, cache);
  EXPECT_TRUE(hidden.ok()) << hidden.status().message();
  const Tensor logits = model.ComputeLogits(*hidden);
  return std::vector<float>(logits.data<float>(), logits.data<float>() + logits.numel());
}

std::vector<std::string> Models() {
  std::vector<std::string> names;
  const json index = testing::ReadJson(GgufDir() / "index.json");
  for (const json& m : index["models"]) names.push_back(m["name"]);
  return names;
}

class GgufModelTest : public ::testing::TestWithParam<std::string> {};

TEST_P(GgufModelTest, LogitsMatchLlamaCpp) {
  const std::string m = GetParam();
  Result<std::unique_ptr<Model>> model = LoadModel(GgufDir() / (m + ".gguf"));
  ASSERT_TRUE(model.ok()) << model.status().message();
  const json tol = testing::ReadJson(GgufDir() / (m + ".tolerance.json"));
  const json index = testing::ReadJson(GgufDir() / (m + ".logits.json"));
  const double max_abs = tol["recommended"]["max_abs"],
               max_rms = tol["recommended"]["rms_per_sequence"];
  for (size_t s = 0; s < index["sequences"].size(); ++s) {
    const std::vector<int32_t> tokens = index["sequences"][s];
    std::vector<int64_t> shape;
    const std::vector<float> want =
        ReadNpyF32(GgufDir() / index["logits_npy"][s].get<std::string>(), &shape);
    const std::vector<float> got = Logits(**model, tokens);
    ASSERT_EQ(got.size(), want.size());
    const int64_t vocab = shape[1];
    double worst = 0, sq = 0;
    for (size_t i = 0; i < got.size(); ++i) {
      const double d = std::abs(static_cast<double>(got[i]) - want[i]);
      worst = std::max(worst, d);
      sq += d * d;
    }
    const double rms = std::sqrt(sq / static_cast<double>(got.size()));
    EXPECT_LE(worst, max_abs) << m << " seq " << s;
    EXPECT_LE(rms, max_rms) << m << " seq " << s;
    for (const json& p : tol["argmax"]["clear_positions_per_seq"][s]) {
      const int64_t pos = p;
      const float* row = got.data() + pos * vocab;
      EXPECT_EQ(std::max_element(row, row + vocab) - row,
                tol["argmax"]["argmax_per_seq"][s][pos].get<int64_t>())
          << m << " seq " << s << " position " << pos;
    }
    std::printf("[ %s ] seq %zu: max abs %.3g (<= %.3g), rms %.3g (<= %.3g)\n", m.c_str(), s, worst,
                max_abs, rms, max_rms);
  }
  // The float64 forward over the dequantized weights, for block-quantized files.
  if (index.contains("float64_reference")) {
    const json& f64 = index["float64_reference"];
    const size_t s = f64["sequence_index"];
    std::vector<int64_t> shape;
    const std::vector<float> want = ReadNpyF32(GgufDir() / f64["npy"].get<std::string>(), &shape);
    // The reference multiplies f32 activations: --dtype float32 (the default rounds them to
    // 8 bits for Q8_0 / Q4_0 weights as llama.cpp does, which the check above covers).
    Result<std::unique_ptr<Model>> f32_model =
        LoadModel(GgufDir() / (m + ".gguf"), testing::kF32Activations);
    ASSERT_TRUE(f32_model.ok()) << f32_model.status().message();
    const std::vector<float> got = Logits(**f32_model, index["sequences"][s]);
    ASSERT_EQ(got.size(), want.size());
    double worst = 0;
    for (size_t i = 0; i < got.size(); ++i)
      worst = std::max(worst, std::abs(static_cast<double>(got[i]) - want[i]));
    EXPECT_LE(worst, tol["recommended"]["vs_float64_reference_seq1_max_abs"].get<double>()) << m;
    std::printf("[ %s ] vs float64 forward: max abs %.3g\n", m.c_str(), worst);
  }
}

// The CLI on a GGUF file: tokenizer, EOS and model all from the file; the next greedy token
// after each reference sequence is llama.cpp's argmax at its last position.
TEST(GgufCli, GenerateContinuesWithLlamaCppsArgmax) {
  for (const std::string m : {"tiny-llama-q4_k", "tiny-qwen2-q8_0"}) {
    const json index = testing::ReadJson(GgufDir() / (m + ".logits.json"));
    const json tol = testing::ReadJson(GgufDir() / (m + ".tolerance.json"));
    for (size_t s = 0; s < index["sequences"].size(); ++s) {
      const std::vector<int32_t> seq = index["sequences"][s];
      const testing::CommandResult r = testing::RunLoom(
          "generate --model " + (GgufDir() / (m + ".gguf")).string() + " --prompt-ids " +
          testing::Join(seq) + " --max-tokens 1 --temperature 0 --ignore-eos");
      ASSERT_EQ(r.exit_code, 0) << r.err;
      EXPECT_EQ(std::stoi(r.out), tol["argmax"]["argmax_per_seq"][s].back().get<int>())
          << m << " seq " << s;
    }
  }
  // Text goes through the file's own SentencePiece vocabulary (BOS added, as llama.cpp does).
  const testing::CommandResult t = testing::RunLoom(
      "tokenize --model " + (GgufDir() / "tiny-llama-q8_0.gguf").string() + " --text 'the of'");
  ASSERT_EQ(t.exit_code, 0) << t.err;
  EXPECT_EQ(json::parse(t.out)["ids"][0], 1);
}

// Llama 3 GGUF files carry their rope scaling as a rope_freqs tensor of per-frequency divisors,
// which llama.cpp's converter (convert_hf_to_gguf.py) computes from the HF rope_scaling. Those
// divisors, computed here by the converter's formula, must give the inverse frequencies of
// Loom's llama3 rope (golden-tested against PyTorch by model_golden_test).
TEST(GgufRope, FreqFactorsReproduceLlama3Scaling) {
  Result<ModelConfig> llama3 = LoadModelConfig(testing::ModelsDir() / "llama3-rope-bf16-tied");
  ASSERT_TRUE(llama3.ok()) << llama3.status().message();
  ASSERT_EQ(llama3->rope_scaling.type, "llama3");
  const RopeScaling& s = llama3->rope_scaling;
  const int64_t dim = llama3->head_dim;
  ModelConfig plain = *llama3;
  plain.rope_scaling = RopeScaling();
  const double old_ctx = static_cast<double>(s.original_max_position_embeddings);
  for (int64_t i = 0; i < dim; i += 2) {
    const float freq =
        1.0f / std::pow(static_cast<float>(llama3->rope_theta), static_cast<float>(i) / dim);
    const double wavelen = 2 * M_PI / freq;
    double f = 1;
    if (wavelen > old_ctx / s.low_freq_factor) {
      f = s.factor;
    } else if (wavelen >= old_ctx / s.high_freq_factor) {
      const double smooth =
          (old_ctx / wavelen - s.low_freq_factor) / (s.high_freq_factor - s.low_freq_factor);
      f = 1 / ((1 - smooth) / s.factor + smooth);
    }
    plain.rope_scaling.freq_factors.push_back(static_cast<float>(f));
  }
  const Rope want(*llama3, dim), got(plain, dim);
  ASSERT_EQ(got.inv_freq().size(), want.inv_freq().size());
  for (size_t i = 0; i < want.inv_freq().size(); ++i) {
    EXPECT_NEAR(got.inv_freq()[i], want.inv_freq()[i], 1e-6 * want.inv_freq()[i]) << i;
  }
}

INSTANTIATE_TEST_SUITE_P(Files, GgufModelTest, ::testing::ValuesIn(Models()),
                         [](const auto& info) { return testing::ParamName(info.param); });

}  // namespace
}  // namespace loom
