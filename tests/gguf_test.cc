// GGUF reader: the 15 real llama.cpp files in ../shared/testdata/gguf read exactly as their
// index.json lists them (names, types, ne, data placement, metadata); synthetic files cover every
// metadata type, v2, nesting and alignment; every kind of malformed file (truncation at every
// header byte, corrupt fields, thousands of random mutations) gives one clean error line.
#include "loader/gguf.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <optional>
#include <random>

#include "core/dtype.h"
#include "test_util.h"

namespace loom {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using ojson = nlohmann::ordered_json;
using testing::ReadBytes;
using testing::TempDir;
using testing::WriteText;

fs::path GgufDir() { return testing::SourceDir() / "../shared/testdata/gguf"; }
json Index() { return testing::ReadJson(GgufDir() / "index.json"); }

// Expected from the brief / ggml.h, independent of the reader's own table.
struct TypeRow {
  const char* name;
  uint32_t id;
  DType dtype;
};
constexpr TypeRow kTypes[] = {
    {"F32", 0, DType::kF32},    {"F16", 1, DType::kF16},    {"Q4_0", 2, DType::kQ4_0},
    {"Q4_1", 3, DType::kQ4_1},  {"Q5_0", 6, DType::kQ5_0},  {"Q5_1", 7, DType::kQ5_1},
    {"Q8_0", 8, DType::kQ8_0},  {"Q2_K", 10, DType::kQ2_K}, {"Q3_K", 11, DType::kQ3_K},
    {"Q4_K", 12, DType::kQ4_K}, {"Q5_K", 13, DType::kQ5_K}, {"Q6_K", 14, DType::kQ6_K},
    {"BF16", 30, DType::kBF16},
};
const TypeRow& TypeNamed(const std::string& name) {
  for (const TypeRow& t : kTypes) {
    if (name == t.name) return t;
  }
  ADD_FAILURE() << "unexpected type in index.json: " << name;
  return kTypes[0];
}

Shape Reversed(const json& ne) {
  Shape s;
  for (auto it = ne.rbegin(); it != ne.rend(); ++it) s.push_back(it->get<int64_t>());
  return s;
}

// A heap copy of exactly `bytes.size()` bytes, so ASan flags any read past the end.
struct ExactBuffer {
  explicit ExactBuffer(const std::string& bytes)
      : size(bytes.size()), data(new uint8_t[std::max<size_t>(bytes.size(), 1)]) {
    std::memcpy(data.get(), bytes.data(), bytes.size());
  }
  std::span<const uint8_t> span() const { return {data.get(), size}; }
  size_t size;
  std::unique_ptr<uint8_t[]> data;
};

// A failure must be a DataLoss/Unimplemented status of one line that names the file.
void ExpectCleanError(const Status& s, const std::string& file, const std::string& context) {
  ASSERT_FALSE(s.ok()) << context;
  EXPECT_TRUE(s.code() == StatusCode::kDataLoss || s.code() == StatusCode::kUnimplemented)
      << context << ": " << s.message();
  EXPECT_EQ(s.message().rfind(file, 0), 0u) << context << ": " << s.message();
  EXPECT_EQ(s.message().find('\n'), std::string::npos) << context << ": " << s.message();
}

// Reads the first and last byte of every tensor (views are contiguous) and serialises the
// metadata, so a view outside the buffer or a bad JSON value shows up (under ASan) here.
void TouchEverything(const GgufFile& f) {
  uint64_t sum = 0;
  for (const GgufTensor& t : f.tensors()) {
    const auto* p = static_cast<const uint8_t*>(t.tensor.raw());
    sum += p[0] + p[t.tensor.nbytes() - 1];
  }
  volatile uint64_t sink = sum;
  (void)sink;
  (void)f.metadata().dump(-1, ' ', false, json::error_handler_t::replace);
}

// ---------------------------------------------------------------------------------------------
// The real files.

TEST(GgufTestdata, EveryFileReadsAsItsIndexLists) {
  const json index = Index();
  ASSERT_EQ(index["models"].size(), 15u);
  for (const json& m : index["models"]) {
    SCOPED_TRACE(m["name"].get<std::string>());
    const fs::path path = GgufDir() / m["gguf"].get<std::string>();
    Result<GgufFile> f = GgufFile::Open(path);
    ASSERT_TRUE(f.ok()) << f.status().message();
    EXPECT_EQ(f->version(), 3u);
    EXPECT_EQ(f->path(), path.string());
    EXPECT_EQ(fs::file_size(path), m["size_bytes"].get<uint64_t>());
    const json& expected = m["tensors"];
    ASSERT_EQ(f->tensors().size(), expected.size());
    for (size_t i = 0; i < expected.size(); ++i) {
      const GgufTensor& t = f->tensors()[i];
      const std::string name = expected[i]["name"];
      const TypeRow& type = TypeNamed(expected[i]["type"]);
      EXPECT_EQ(t.name, name);  // file order
      EXPECT_EQ(t.ggml_type, type.id) << name;
      EXPECT_EQ(t.tensor.dtype(), type.dtype) << name;
      EXPECT_EQ(t.tensor.shape(), Reversed(expected[i]["ne"])) << name;
      EXPECT_TRUE(t.tensor.IsContiguous());
      ASSERT_EQ(f->Find(name), &t);
    }
    EXPECT_EQ(f->Find("no.such.tensor"), nullptr);
    const auto& md = f->metadata();
    EXPECT_EQ(md["general.architecture"].get<std::string>(), m["arch"].get<std::string>());
    EXPECT_EQ(md["general.file_type"].get<int64_t>(), m["general.file_type"].get<int64_t>());
    EXPECT_EQ(md["general.name"], "loom-tiny-" + m["arch"].get<std::string>());
    EXPECT_EQ(md["tokenizer.ggml.model"], "llama");
    EXPECT_EQ(md["tokenizer.ggml.tokens"].size(), 512u);
    if (md.contains("general.alignment")) {
      EXPECT_EQ(md["general.alignment"], 32);
    }
  }
}

TEST(GgufTestdata, TensorDataIsWhereTheDequantFilesSay) {
  // <m>.dequant.json records the absolute offset and byte size of two tensors per quantized file.
  int files = 0;
  const json index = Index();
  for (const json& m : index["models"]) {
    if (!m.contains("dequant")) continue;
    ++files;
    const std::string stem = m["name"];
    SCOPED_TRACE(stem);
    const std::string bytes = ReadBytes(GgufDir() / m["gguf"].get<std::string>());
    const ExactBuffer buf(bytes);
    Result<GgufFile> parsed = GgufFile::Parse(buf.span(), stem, nullptr);
    ASSERT_TRUE(parsed.ok()) << parsed.status().message();
    Result<GgufFile> opened = GgufFile::Open(GgufDir() / m["gguf"].get<std::string>());
    ASSERT_TRUE(opened.ok()) << opened.status().message();
    const json dq = testing::ReadJson(GgufDir() / (stem + ".dequant.json"));
    ASSERT_EQ(dq["tensors"].size(), 2u);
    for (const json& e : dq["tensors"]) {
      const std::string name = e["name"];
      const GgufTensor* t = parsed->Find(name);
      ASSERT_NE(t, nullptr) << name;
      const auto offset = e["data_offset_in_file"].get<size_t>();
      const auto nbytes = e["raw_nbytes"].get<size_t>();
      EXPECT_EQ(static_cast<const uint8_t*>(t->tensor.raw()) - buf.data.get(),
                static_cast<ptrdiff_t>(offset))
          << name;
      EXPECT_EQ(t->tensor.nbytes(), nbytes) << name;
      EXPECT_EQ(t->ggml_type, e["ggml_type_id"].get<uint32_t>());
      EXPECT_EQ(t->tensor.shape(), Reversed(e["ne"]));
      const GgufTensor* mapped = opened->Find(name);
      ASSERT_NE(mapped, nullptr);
      EXPECT_EQ(std::memcmp(mapped->tensor.raw(), bytes.data() + offset, nbytes), 0) << name;
    }
  }
  EXPECT_EQ(files, 11);
}

TEST(GgufTestdata, HalfPrecisionFilesAreTheF32FileRounded) {
  // README: the F16/BF16 files' 2-D tensors are the F32 file's, rounded to nearest even; this
  // checks every byte of every such tensor, so every offset and size of those files.
  Result<GgufFile> f32 = GgufFile::Open(GgufDir() / "tiny-llama-f32.gguf");
  ASSERT_TRUE(f32.ok()) << f32.status().message();
  for (const char* file : {"tiny-llama-f16.gguf", "tiny-llama-bf16.gguf"}) {
    SCOPED_TRACE(file);
    Result<GgufFile> half = GgufFile::Open(GgufDir() / file);
    ASSERT_TRUE(half.ok()) << half.status().message();
    int checked = 0;
    for (const GgufTensor& t : half->tensors()) {
      const GgufTensor* ref = f32->Find(t.name);
      ASSERT_NE(ref, nullptr) << t.name;
      ASSERT_EQ(t.tensor.shape(), ref->tensor.shape()) << t.name;
      const float* x = ref->tensor.data<float>();
      const int64_t n = t.tensor.numel();
      if (t.tensor.dtype() == DType::kF32) {
        EXPECT_EQ(std::memcmp(t.tensor.raw(), x, n * 4), 0) << t.name;
        continue;
      }
      const auto* h = t.tensor.data<uint16_t>();
      int64_t mismatches = 0;
      for (int64_t i = 0; i < n; ++i) {
        const uint16_t want = t.tensor.dtype() == DType::kF16 ? F32ToF16(x[i]) : F32ToBF16(x[i]);
        mismatches += h[i] != want;
      }
      EXPECT_EQ(mismatches, 0) << t.name;
      ++checked;
    }
    EXPECT_EQ(checked, 16);  // token_embd, 7 matrices x 2 layers, output; norms stay F32
  }
}

TEST(GgufTestdata, LlamaMetadataValuesAndTypes) {
  Result<GgufFile> f = GgufFile::Open(GgufDir() / "tiny-llama-f32.gguf");
  ASSERT_TRUE(f.ok()) << f.status().message();
  const auto& md = f->metadata();
  EXPECT_EQ(md["general.architecture"], "llama");
  EXPECT_EQ(md["llama.block_count"], 2);
  EXPECT_TRUE(md["llama.block_count"].is_number_integer());
  EXPECT_EQ(md["llama.embedding_length"], 256);
  EXPECT_EQ(md["llama.feed_forward_length"], 512);
  EXPECT_EQ(md["llama.attention.head_count"], 4);
  EXPECT_EQ(md["llama.attention.head_count_kv"], 2);
  EXPECT_EQ(md["llama.context_length"], 2048);
  EXPECT_EQ(md["llama.rope.dimension_count"], 64);
  EXPECT_EQ(md["llama.rope.freq_base"].get<double>(), 10000.0);
  EXPECT_EQ(md["llama.attention.layer_norm_rms_epsilon"].get<float>(), 1e-5f);
  EXPECT_EQ(md["tokenizer.ggml.model"], "llama");
  const auto& tokens = md["tokenizer.ggml.tokens"];
  ASSERT_EQ(tokens.size(), 512u);
  EXPECT_EQ(tokens[0], "<unk>");
  EXPECT_EQ(tokens[1], "<s>");
  EXPECT_EQ(tokens[2], "</s>");
  EXPECT_EQ(tokens[3], "<0x00>");
  EXPECT_EQ(tokens[258], "<0xFF>");
  EXPECT_EQ(tokens[259], "\xe2\x96\x81the");  // "▁the"
  EXPECT_EQ(tokens[511], "\xe2\x96\x81");
  const auto& scores = md["tokenizer.ggml.scores"];
  ASSERT_EQ(scores.size(), 512u);
  EXPECT_EQ(scores[3].get<double>(), 0.0);
  EXPECT_EQ(scores[259].get<double>(), -1.0);
  EXPECT_EQ(scores[511].get<double>(), -253.0);
  const auto& types = md["tokenizer.ggml.token_type"];
  ASSERT_EQ(types.size(), 512u);
  EXPECT_EQ(types[0], 2);    // UNKNOWN
  EXPECT_EQ(types[1], 3);    // CONTROL
  EXPECT_EQ(types[3], 6);    // BYTE
  EXPECT_EQ(types[259], 1);  // NORMAL
  EXPECT_EQ(md["tokenizer.ggml.bos_token_id"], 1);
  EXPECT_EQ(md["tokenizer.ggml.eos_token_id"], 2);
  EXPECT_EQ(md["tokenizer.ggml.add_bos_token"], true);
  EXPECT_EQ(md["tokenizer.ggml.add_eos_token"], false);
  EXPECT_EQ(md.begin().key(), "general.architecture");  // file order is kept
}

TEST(GgufTestdata, QuantizedAndQwenFilesKeepTheirKeyOrderAndBiases) {
  Result<GgufFile> q = GgufFile::Open(GgufDir() / "tiny-llama-q4_k.gguf");
  ASSERT_TRUE(q.ok()) << q.status().message();
  EXPECT_EQ(q->metadata()["general.quantization_version"], 2);
  EXPECT_EQ((--q->metadata().end()).key(), "general.file_type");  // README: the last key
  EXPECT_EQ(q->tensors().front().name, "output.weight");

  Result<GgufFile> qwen = GgufFile::Open(GgufDir() / "tiny-qwen2-q8_0.gguf");
  ASSERT_TRUE(qwen.ok()) << qwen.status().message();
  const auto& md = qwen->metadata();
  EXPECT_EQ(md["general.architecture"], "qwen2");
  EXPECT_EQ(md["qwen2.rope.freq_base"].get<double>(), 1e6);
  EXPECT_EQ(md["qwen2.attention.layer_norm_rms_epsilon"].get<float>(), 1e-6f);
  const GgufTensor* bias = qwen->Find("blk.1.attn_k.bias");
  ASSERT_NE(bias, nullptr);
  EXPECT_EQ(bias->tensor.dtype(), DType::kF32);
  EXPECT_EQ(bias->tensor.shape(), (Shape{128}));
  const GgufTensor* w = qwen->Find("blk.1.ffn_down.weight");
  ASSERT_NE(w, nullptr);
  EXPECT_EQ(w->tensor.shape(), (Shape{256, 512}));
  EXPECT_EQ(w->tensor.nbytes(), 256u * 512 / 32 * 34);
}

TEST(GgufTestdata, ViewsKeepTheMappingAlive) {
  Tensor t;
  {
    Result<GgufFile> f = GgufFile::Open(GgufDir() / "tiny-llama-f32.gguf");
    ASSERT_TRUE(f.ok());
    t = f->Find("output_norm.weight")->tensor;
  }
  float sum = 0;
  for (int64_t i = 0; i < t.numel(); ++i) sum += t.data<float>()[i];  // ASan: no use after unmap
  EXPECT_TRUE(std::isfinite(sum));
}

// ---------------------------------------------------------------------------------------------
// Synthetic files.

enum : uint32_t { kU8, kI8, kU16, kI16, kU32, kI32, kF32, kBool, kStr, kArr, kU64, kI64, kF64 };

struct Enc {
  std::string s;
  template <typename T>
  Enc& Put(T v) {
    s.append(reinterpret_cast<const char*>(&v), sizeof v);
    return *this;
  }
  Enc& Str(std::string_view v) {
    Put<uint64_t>(v.size());
    s.append(v);
    return *this;
  }
};
template <typename T>
std::string Val(T v) {
  return Enc().Put(v).s;
}

struct Kv {
  std::string key;
  uint32_t type;
  std::string value;  // encoded
};
struct SynthTensor {
  std::string name;
  std::vector<uint64_t> ne;  // n_dims = ne.size()
  uint32_t type;
  std::string data;
  std::optional<uint64_t> offset = std::nullopt;  // default: packed, aligned
};

std::string MakeGguf(const std::vector<Kv>& kvs, const std::vector<SynthTensor>& tensors,
                     uint32_t version = 3, uint64_t alignment = 32) {
  Enc e;
  e.s = "GGUF";
  e.Put<uint32_t>(version).Put<uint64_t>(tensors.size()).Put<uint64_t>(kvs.size());
  for (const Kv& kv : kvs) e.Str(kv.key).Put<uint32_t>(kv.type).s += kv.value;
  std::string data;
  for (const SynthTensor& t : tensors) {
    while (data.size() % alignment != 0) data.push_back('\0');
    e.Str(t.name).Put<uint32_t>(static_cast<uint32_t>(t.ne.size()));
    for (uint64_t d : t.ne) e.Put<uint64_t>(d);
    e.Put<uint32_t>(t.type).Put<uint64_t>(t.offset.value_or(data.size()));
    data += t.data;
  }
  if (!tensors.empty()) {
    while (e.s.size() % alignment != 0) e.s.push_back('\0');
  }
  return e.s + data;
}

std::string F32s(std::vector<float> v) { return {reinterpret_cast<char*>(v.data()), v.size() * 4}; }

TEST(GgufSynthetic, EveryValueTypeBothVersions) {
  for (uint32_t version : {2u, 3u}) {
    SCOPED_TRACE(version);
    const std::string nested = Enc()
                                   .Put<uint32_t>(kArr)
                                   .Put<uint64_t>(2)
                                   .Put<uint32_t>(kU8)
                                   .Put<uint64_t>(2)
                                   .Put<uint8_t>(1)
                                   .Put<uint8_t>(2)
                                   .Put<uint32_t>(kU8)
                                   .Put<uint64_t>(1)
                                   .Put<uint8_t>(3)
                                   .s;
    const std::vector<Kv> kvs = {
        {"u8", kU8, Val<uint8_t>(200)},
        {"i8", kI8, Val<int8_t>(-5)},
        {"u16", kU16, Val<uint16_t>(60000)},
        {"i16", kI16, Val<int16_t>(-300)},
        {"u32", kU32, Val<uint32_t>(4000000000u)},
        {"i32", kI32, Val<int32_t>(-2000000000)},
        {"f32", kF32, Val<float>(0.5f)},
        {"yes", kBool, Val<uint8_t>(1)},
        {"no", kBool, Val<uint8_t>(0)},
        {"str", kStr, Enc().Str("h\xc3\xa9llo").s},
        {"u64", kU64, Val<uint64_t>(UINT64_MAX)},
        {"i64", kI64, Val<int64_t>(INT64_MIN)},
        {"f64", kF64, Val<double>(-1.25)},
        {"strs", kArr, Enc().Put<uint32_t>(kStr).Put<uint64_t>(3).Str("a").Str("").Str("c").s},
        {"empty", kArr, Enc().Put<uint32_t>(kI32).Put<uint64_t>(0).s},
        {"nested", kArr, nested},
        {"bools", kArr,
         Enc().Put<uint32_t>(kBool).Put<uint64_t>(2).Put<uint8_t>(0).Put<uint8_t>(1).s},
        {"general.alignment", kU32, Val<uint32_t>(64)},
    };
    const std::string q8(6 * 34, '\x11'), q4k(144, '\x22');
    const std::string bytes =
        MakeGguf(kvs,
                 {{"a", {3, 2}, 0, F32s({1, 2, 3, 4, 5, 6})},
                  {"b", {4}, 1, std::string("\x00\x3c\x00\x40\x00\x42\x00\x44", 8)},
                  {"c", {32, 2, 1, 3}, 8, q8},
                  {"d", {256}, 12, q4k}},
                 version, 64);
    const ExactBuffer buf(bytes);
    Result<GgufFile> f = GgufFile::Parse(buf.span(), "synthetic.gguf", nullptr);
    ASSERT_TRUE(f.ok()) << f.status().message();
    EXPECT_EQ(f->version(), version);
    const auto& md = f->metadata();
    ASSERT_EQ(md.size(), kvs.size());
    size_t i = 0;
    for (const auto& [key, value] : md.items()) EXPECT_EQ(key, kvs[i++].key);  // file order
    EXPECT_EQ(md["u8"], 200);
    EXPECT_TRUE(md["u8"].is_number_unsigned());
    EXPECT_EQ(md["i8"], -5);
    EXPECT_EQ(md["u16"], 60000);
    EXPECT_EQ(md["i16"], -300);
    EXPECT_EQ(md["u32"], 4000000000u);
    EXPECT_EQ(md["i32"], -2000000000);
    EXPECT_EQ(md["f32"], 0.5);
    EXPECT_TRUE(md["f32"].is_number_float());
    EXPECT_EQ(md["yes"], true);
    EXPECT_EQ(md["no"], false);
    EXPECT_EQ(md["str"], "h\xc3\xa9llo");
    EXPECT_EQ(md["u64"].get<uint64_t>(), UINT64_MAX);
    EXPECT_EQ(md["i64"].get<int64_t>(), INT64_MIN);
    EXPECT_TRUE(md["i64"].is_number_integer() && !md["i64"].is_number_unsigned());
    EXPECT_EQ(md["f64"], -1.25);
    EXPECT_EQ(md["strs"], ojson({"a", "", "c"}));
    EXPECT_EQ(md["empty"], ojson::array());
    EXPECT_EQ(md["nested"], ojson({{1, 2}, {3}}));
    EXPECT_EQ(md["bools"], ojson({false, true}));

    ASSERT_EQ(f->tensors().size(), 4u);
    const Tensor& a = f->Find("a")->tensor;
    EXPECT_EQ(a.shape(), (Shape{2, 3}));
    EXPECT_EQ(a.data<float>()[5], 6.0f);
    const Tensor& b = f->Find("b")->tensor;
    EXPECT_EQ(b.dtype(), DType::kF16);
    EXPECT_EQ(b.ToF32().data<float>()[3], 4.0f);
    const Tensor& c = f->Find("c")->tensor;
    EXPECT_EQ(c.dtype(), DType::kQ8_0);
    EXPECT_EQ(c.shape(), (Shape{3, 1, 2, 32}));
    EXPECT_EQ(c.nbytes(), q8.size());
    EXPECT_EQ(std::memcmp(c.raw(), q8.data(), q8.size()), 0);
    const Tensor& d = f->Find("d")->tensor;
    EXPECT_EQ(d.dtype(), DType::kQ4_K);
    EXPECT_EQ(d.shape(), (Shape{256}));
    EXPECT_EQ(std::memcmp(d.raw(), q4k.data(), q4k.size()), 0);
    for (const GgufTensor& t : f->tensors()) {
      EXPECT_EQ((static_cast<const uint8_t*>(t.tensor.raw()) - buf.data.get()) % 64, 0) << t.name;
    }
  }
}

TEST(GgufSynthetic, SmallAlignmentCopiesMisalignedData) {
  // Alignment 1: offsets 0 and 5 cannot both be 4-byte aligned; the reader copies what is not.
  // x holds all 9 data bytes in the builder; its 4 are at offset 0, y's at offset 5.
  const std::string data = F32s({1.5f}) + std::string(1, '\0') + F32s({-2.5f});
  const std::string bytes = MakeGguf({{"general.alignment", kU32, Val<uint32_t>(1)}},
                                     {{"x", {1}, 0, data, 0}, {"y", {1}, 0, "", 5}}, 3, 1);
  TempDir d;
  WriteText(d.path() / "b.gguf", bytes);
  Result<GgufFile> f = GgufFile::Open(d.path() / "b.gguf");
  ASSERT_TRUE(f.ok()) << f.status().message();
  EXPECT_EQ(f->Find("x")->tensor.data<float>()[0], 1.5f);
  EXPECT_EQ(f->Find("y")->tensor.data<float>()[0], -2.5f);
}

TEST(GgufSynthetic, NoTensorsAndNoMetadata) {
  const std::string bytes = MakeGguf({}, {});
  const ExactBuffer buf(bytes);
  Result<GgufFile> f = GgufFile::Parse(buf.span(), "empty.gguf", nullptr);
  ASSERT_TRUE(f.ok()) << f.status().message();
  EXPECT_TRUE(f->tensors().empty());
  EXPECT_TRUE(f->metadata().is_object());
  EXPECT_TRUE(f->metadata().empty());
}

TEST(GgufSynthetic, TypeTable) {
  for (const TypeRow& t : kTypes) {
    Result<DType> d = DTypeOfGgmlType(t.id);
    ASSERT_TRUE(d.ok()) << t.name;
    EXPECT_EQ(*d, t.dtype) << t.name;
  }
  for (uint32_t id : {4u, 5u, 9u, 15u, 16u, 23u, 24u, 28u, 29u, 31u, 34u, 39u, 99u}) {
    Result<DType> d = DTypeOfGgmlType(id);
    ASSERT_FALSE(d.ok()) << id;
    EXPECT_EQ(d.status().code(), StatusCode::kUnimplemented);
  }
  EXPECT_NE(DTypeOfGgmlType(16).status().message().find("IQ2_XXS"), std::string::npos);
}

TEST(GgufSynthetic, UnsupportedTensorTypeIsUnimplementedNamingIt) {
  TempDir d;
  const auto p = d.path() / "iq.gguf";
  WriteText(p, MakeGguf({}, {{"blk.0.w", {256, 2}, 16, std::string(2 * 66, '\0')}}));
  Result<GgufFile> f = GgufFile::Open(p);
  ASSERT_FALSE(f.ok());
  EXPECT_EQ(f.status().code(), StatusCode::kUnimplemented);
  EXPECT_NE(f.status().message().find(
                "tensor 'blk.0.w' has ggml type 16 (IQ2_XXS), which Loom does not read"),
            std::string::npos)
      << f.status().message();
  EXPECT_EQ(f.status().message().rfind(p.string(), 0), 0u);
  WriteText(p, MakeGguf({}, {{"w", {32}, 77, std::string(64, '\0')}}));
  f = GgufFile::Open(p);
  ASSERT_FALSE(f.ok());
  EXPECT_NE(f.status().message().find("ggml type 77 (unknown)"), std::string::npos);
}

TEST(GgufSynthetic, MissingFileIsNotFound) {
  TempDir d;
  Result<GgufFile> f = GgufFile::Open(d.path() / "nope.gguf");
  ASSERT_FALSE(f.ok());
  EXPECT_EQ(f.status().code(), StatusCode::kNotFound);
  EXPECT_NE(f.status().message().find("nope.gguf"), std::string::npos);
  EXPECT_EQ(GgufFile::Open(d.path()).status().code(), StatusCode::kNotFound);
}

TEST(GgufSynthetic, CorruptFilesGiveOneLineErrors) {
  TempDir d;
  const auto p = d.path() / "bad.gguf";
  const auto expect_error = [&](const std::string& bytes, const std::string& needle,
                                StatusCode code = StatusCode::kDataLoss) {
    WriteText(p, bytes);
    Result<GgufFile> f = GgufFile::Open(p);
    ExpectCleanError(f.status(), p.string(), needle);
    if (f.ok()) return;
    EXPECT_EQ(f.status().code(), code) << f.status().message();
    EXPECT_NE(f.status().message().find(needle), std::string::npos) << f.status().message();
  };
  const std::vector<Kv> arch = {{"general.architecture", kStr, Enc().Str("llama").s}};
  const SynthTensor w{"w", {4, 2}, 0, F32s({1, 2, 3, 4, 5, 6, 7, 8})};
  const std::string good = MakeGguf(arch, {w});
  {
    WriteText(p, good);
    ASSERT_TRUE(GgufFile::Open(p).ok());
  }
  const auto patched = [&](size_t at, auto value) {
    std::string b = good;
    std::memcpy(b.data() + at, &value, sizeof value);
    return b;
  };

  // Header.
  expect_error("", "truncated GGUF file");
  expect_error("GGU", "truncated GGUF file");
  expect_error("GGML" + good.substr(4), "not a GGUF file (it starts with 'GGML'");
  expect_error(std::string("\x00\x01\x02\x03", 4) + good.substr(4), "'\\x00\\x01\\x02\\x03'");
  expect_error(patched(4, uint32_t{1}), "GGUF version 1 is not supported",
               StatusCode::kUnimplemented);
  expect_error(patched(4, uint32_t{4}), "GGUF version 4 is not supported",
               StatusCode::kUnimplemented);
  expect_error(patched(4, uint32_t{0x03000000}), "big-endian", StatusCode::kUnimplemented);
  expect_error(patched(8, uint64_t{1} << 40), "cannot fit");
  expect_error(patched(16, uint64_t{1} << 40), "cannot fit");
  expect_error(patched(8, UINT64_MAX), "cannot fit");
  expect_error(patched(16, UINT64_MAX), "cannot fit");
  expect_error(patched(24, uint64_t{1} << 50), "string of 1125899906842624 bytes");
  expect_error(patched(24, UINT64_MAX), "metadata key 0 is a string of");

  // Metadata.
  expect_error(MakeGguf({{"", kU8, Val<uint8_t>(1)}}, {}), "metadata key 0 is empty");
  expect_error(MakeGguf({{"k", kU8, Val<uint8_t>(1)}, {"k", kU8, Val<uint8_t>(1)}}, {}),
               "metadata key 'k' appears twice");
  expect_error(MakeGguf({{"k", 13, Val<uint8_t>(1)}}, {}),
               "metadata 'k' has unknown value type 13");
  expect_error(MakeGguf({{"k", 0xffffffff, "\0"}}, {}), "unknown value type 4294967295");
  expect_error(MakeGguf({{"k", kArr, Enc().Put<uint32_t>(13).Put<uint64_t>(1).s}}, {}),
               "array of unknown value type 13");
  expect_error(MakeGguf({{"k", kBool, Val<uint8_t>(2)}}, {}), "metadata 'k' has bool value 2");
  expect_error(MakeGguf({{"k", kArr, Enc().Put<uint32_t>(kU32).Put<uint64_t>(1ull << 40).s}}, {}),
               "array of 1099511627776 uint32 values, which cannot fit");
  expect_error(MakeGguf({{"k", kArr, Enc().Put<uint32_t>(kStr).Put<uint64_t>(UINT64_MAX).s}}, {}),
               "cannot fit");
  expect_error(MakeGguf({{"k", kStr, Enc().Put<uint64_t>(100).s + "short"}}, {}),
               "metadata 'k' is a string of 100 bytes");
  expect_error(MakeGguf({{"k", kU64, "\x01\x02"}}, {}),
               "truncated GGUF file: metadata 'k' needs 8");
  {
    Enc deep;
    for (int i = 0; i < 20; ++i) deep.Put<uint32_t>(kArr).Put<uint64_t>(1);
    deep.Put<uint32_t>(kU8).Put<uint64_t>(0);
    expect_error(MakeGguf({{"k", kArr, deep.s}}, {}), "nests arrays deeper than 8 levels");
  }
  expect_error(MakeGguf({{"general.alignment", kU32, Val<uint32_t>(48)}}, {w}),
               "general.alignment 48 is not a power of two");
  expect_error(MakeGguf({{"general.alignment", kU32, Val<uint32_t>(0)}}, {w}),
               "general.alignment 0 is not a power of two");
  expect_error(MakeGguf({{"general.alignment", kU64, Val<uint64_t>(32)}}, {w}),
               "general.alignment must be a uint32, not a uint64");
  expect_error(MakeGguf({{"key\nwith newline", 13, ""}}, {}), "'key\\x0awith newline'");

  // Tensor infos.
  const auto with = [&](SynthTensor t) { return MakeGguf(arch, {t}); };
  expect_error(with({"w", {}, 0, ""}), "tensor 'w' has 0 dimensions (GGUF allows 1 to 4)");
  expect_error(with({"w", {1, 1, 1, 1, 1}, 0, F32s({1})}), "tensor 'w' has 5 dimensions");
  expect_error(with({"w", {4, 0}, 0, ""}), "tensor 'w' has a zero dimension (ne [4, 0])");
  expect_error(with({"w", {1ull << 40, 1ull << 40}, 0, ""}), "larger than the whole file");
  expect_error(with({"w", {UINT64_MAX, 2}, 0, ""}), "larger than the whole file");
  expect_error(with({"w", {2, UINT64_MAX, UINT64_MAX, 3}, 0, ""}), "larger than the whole file");
  expect_error(with({"w", {1ull << 62}, 1, ""}), "larger than the whole file");
  expect_error(with({"w", {20, 1}, 0, F32s({1})}), "lie outside the file's 4 data bytes");
  expect_error(
      with({"w", {33, 1}, 2, std::string(18 * 2, '\0')}),
      "tensor 'w' of type Q4_0 has rows of 33 elements, not a multiple of its block size 32");
  expect_error(with({"w", {128}, 12, std::string(144, '\0')}),
               "not a multiple of its block size 256");
  expect_error(with({"w", {4, 2}, 0, F32s({1, 2, 3, 4, 5, 6, 7, 8}), 4}),
               "tensor 'w' has data offset 4, not a multiple of the alignment 32");
  expect_error(with({"w", {4, 2}, 0, F32s({1, 2, 3, 4, 5, 6, 7, 8}), 1ull << 20}),
               "32 bytes of data at offset 1048576 lie outside the file's 32 data bytes");
  expect_error(with({"w", {4, 2}, 0, F32s({1, 2, 3, 4, 5, 6, 7, 8}), UINT64_MAX - 31}),
               "lie outside");
  expect_error(MakeGguf(arch, {w, w}), "tensor 'w' appears twice");
  expect_error(MakeGguf(arch, {w, {"v", {4}, 0, F32s({1, 2, 3, 4}), 0}}),
               "overlap (data offsets 0 and 0, ");
  {
    // Header complete but the data section is missing entirely.
    std::string b = good.substr(0, good.size() - 32);
    b.resize(b.size() - 1);
    expect_error(b, "tensor data should start at byte");
  }
}

// ---------------------------------------------------------------------------------------------
// A real file, mutated.

struct RealFile {
  std::string bytes;
  size_t data_start = 0;  // first byte of tensor data
  size_t data_end = 0;    // one past the last tensor byte
};
RealFile LoadReal(const std::string& name) {
  RealFile r;
  r.bytes = ReadBytes(GgufDir() / name);
  const ExactBuffer buf(r.bytes);
  Result<GgufFile> f = GgufFile::Parse(buf.span(), name, nullptr);
  EXPECT_TRUE(f.ok()) << f.status().message();
  r.data_start = r.bytes.size();
  for (const GgufTensor& t : f->tensors()) {
    const size_t off = static_cast<const uint8_t*>(t.tensor.raw()) - buf.data.get();
    r.data_start = std::min(r.data_start, off);
    r.data_end = std::max(r.data_end, off + t.tensor.nbytes());
  }
  return r;
}

TEST(GgufMalformed, EveryTruncationOfARealFileIsAnError) {
  const RealFile real = LoadReal("tiny-llama-q2_k.gguf");
  ASSERT_GT(real.data_start, 8000u);  // 512 tokens, scores, types, 21 tensor infos
  // Every header byte, from exact-size heap buffers (ASan sees any read past the end).
  for (size_t n = 0; n <= real.data_start + 64; ++n) {
    const ExactBuffer buf(real.bytes.substr(0, n));
    Result<GgufFile> f = GgufFile::Parse(buf.span(), "cut.gguf", nullptr);
    ExpectCleanError(f.status(), "cut.gguf", "truncated to " + std::to_string(n) + " bytes");
    if (f.ok()) break;
  }
  // Files on disk: a sample of header positions and of positions in the tensor data.
  TempDir d;
  const auto cut = d.path() / "cut.gguf";
  std::vector<size_t> sizes;
  for (size_t n = 0; n < real.data_start; n += 97) sizes.push_back(n);
  std::mt19937 rng(7);
  for (int i = 0; i < 200; ++i)
    sizes.push_back(real.data_start + rng() % (real.data_end - real.data_start));
  sizes.push_back(real.data_end - 1);
  for (size_t n : sizes) {
    WriteText(cut, real.bytes.substr(0, n));
    Result<GgufFile> f = GgufFile::Open(cut);
    ExpectCleanError(f.status(), cut.string(), "truncated to " + std::to_string(n) + " bytes");
    if (f.ok()) break;
  }
  for (size_t n = real.data_end; n <= real.bytes.size(); ++n) {  // only padding is missing
    WriteText(cut, real.bytes.substr(0, n));
    EXPECT_TRUE(GgufFile::Open(cut).ok()) << n;
  }
}

TEST(GgufMalformed, CorruptFieldsOfARealFile) {
  const RealFile real = LoadReal("tiny-llama-q2_k.gguf");
  TempDir d;
  const auto p = d.path() / "corrupt.gguf";
  const auto expect_error = [&](size_t at, auto value, const std::string& needle) {
    std::string b = real.bytes;
    ASSERT_LE(at + sizeof value, b.size());
    std::memcpy(b.data() + at, &value, sizeof value);
    WriteText(p, b);
    Result<GgufFile> f = GgufFile::Open(p);
    ExpectCleanError(f.status(), p.string(), needle);
    if (!f.ok()) {
      EXPECT_NE(f.status().message().find(needle), std::string::npos) << f.status().message();
    }
  };
  const auto after = [&](std::string_view needle) {
    const size_t at = real.bytes.find(needle);
    EXPECT_NE(at, std::string::npos) << needle;
    EXPECT_LT(at, real.data_start) << needle;
    return at + needle.size();
  };
  expect_error(0, uint32_t{0x4c4d4747}, "not a GGUF file");  // "GGML"
  expect_error(4, uint32_t{1}, "GGUF version 1");
  expect_error(8, uint64_t{1} << 35, "cannot fit");
  expect_error(16, uint64_t{1} << 35, "cannot fit");
  expect_error(8, uint64_t{22}, "");  // one tensor too many: the next "info" is tensor data
  expect_error(16, uint64_t{1000}, "");
  expect_error(24, uint64_t{1} << 33, "metadata key 0 is a string of");
  const size_t tokens = after("tokenizer.ggml.tokens");
  expect_error(tokens, uint32_t{13}, "metadata 'tokenizer.ggml.tokens' has unknown value type 13");
  expect_error(tokens + 4, uint32_t{13}, "array of unknown value type 13");
  expect_error(tokens + 8, uint64_t{1} << 40, "array of 1099511627776 string values");
  expect_error(tokens + 8, uint64_t{513}, "");  // swallows the next key as a token: then garbage
  expect_error(tokens + 16, uint64_t{1} << 40, "is a string of 1099511627776 bytes");
  const size_t k = after("blk.0.attn_k.weight");
  expect_error(k, uint32_t{0}, "tensor 'blk.0.attn_k.weight' has 0 dimensions");
  expect_error(k, uint32_t{7}, "tensor 'blk.0.attn_k.weight' has 7 dimensions");
  expect_error(k + 4, uint64_t{0}, "has a zero dimension");
  expect_error(k + 4, uint64_t{100}, "rows of 100 elements, not a multiple of its block size 256");
  expect_error(k + 12, uint64_t{1} << 40, "larger than the whole file");
  expect_error(k + 12, uint64_t{5000}, "lie outside");
  expect_error(k + 20, uint32_t{16}, "has ggml type 16 (IQ2_XXS), which Loom does not read");
  expect_error(k + 24, uint64_t{16}, "not a multiple of the alignment 32");
  expect_error(k + 24, uint64_t{1} << 40, "lie outside");
  expect_error(k + 24, uint64_t{0}, "overlap");

  // Version 2 has the same layout: the file reads and reports version 2.
  std::string v2 = real.bytes;
  v2[4] = 2;
  const ExactBuffer buf(v2);
  Result<GgufFile> f = GgufFile::Parse(buf.span(), "v2.gguf", nullptr);
  ASSERT_TRUE(f.ok()) << f.status().message();
  EXPECT_EQ(f->version(), 2u);
}

TEST(GgufMalformed, RandomByteMutationsNeverCrash) {
  // Seeded mutations of a real file, mostly in the header where the parser looks. Any outcome is
  // fine except a crash or a read outside the buffer (each buffer is an exact-size heap block, so
  // ASan sees one); accepted files have every tensor byte read.
  const RealFile real = LoadReal("tiny-llama-q2_k.gguf");
  std::mt19937_64 rng(20260901);
  int rejected = 0, accepted = 0;
  std::string m;
  for (int iter = 0; iter < 3000; ++iter) {
    m.assign(real.bytes);
    const int flips = 1 + static_cast<int>(rng() % 8);
    for (int i = 0; i < flips; ++i) {
      const size_t span = rng() % 10 == 0 ? m.size() : real.data_start + 32;
      const size_t at = rng() % span;
      switch (rng() % 4) {
        case 0:
          m[at] = static_cast<char>(rng());
          break;  // random byte
        case 1:
          m[at] ^= static_cast<char>(1u << (rng() % 8));
          break;  // bit flip
        case 2:
          m[at] = static_cast<char>(0xff);
          break;
        default: {  // a random small or huge u64 (counts, lengths, dims, offsets)
          const uint64_t v = rng() % 2 ? rng() % 1024 : rng();
          if (at + 8 <= m.size()) std::memcpy(m.data() + at, &v, 8);
        }
      }
    }
    if (rng() % 16 == 0) m.resize(rng() % m.size());
    const ExactBuffer buf(m);
    Result<GgufFile> f = GgufFile::Parse(buf.span(), "mutant.gguf", nullptr);
    if (!f.ok()) {
      ExpectCleanError(f.status(), "mutant.gguf", "iteration " + std::to_string(iter));
      ++rejected;
      continue;
    }
    ++accepted;
    TouchEverything(*f);
  }
  EXPECT_GT(rejected, 1000);
  EXPECT_GT(accepted, 0);
}

}  // namespace
}  // namespace loom
