// Block-quantized weights (ggml's Q4_0 ... Q6_K):
//  1. Dequantization bit for bit against gguf-py's (independent Python) dequantization of real
//     llama-quantize output in ../shared/testdata/gguf (README there), which its authors also
//     checked bit for bit against ggml's own to_float.
//  2. Quantization: byte for byte against llama-quantize (same F32 source tensors), plus
//     round-trip error bounds and idempotence.
//  3. The fast MatMul paths (per ISA) against the reference MatMul for every quantized type.
//
// MatMul tolerance, derived as in kernels_test.cc: the fast decoders evaluate ggml's f32
// expression for every weight, so both sides multiply by the very same dequantized w_i; the
// reference sums in double, the fast path in f32 (kLanes partial sums, FMA), whose error is at
// most gamma_k sum |x_i w_i|, gamma_k ~= k u (Higham 3.1). We allow (k + 2) FLT_EPSILON
// sum |x_i w_i| (2x margin, +2 for the bias add and final rounding).
#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "core/dtype.h"
#include "kernel_test_util.h"
#include "kernels/cpu/cpu_kernels.h"
#include "kernels/dispatch.h"
#include "kernels/kernels.h"
#include "kernels/ref/quant.h"
#include "kernels/ref/ref.h"
#include "test_util.h"

namespace loom::kernels {
namespace {

namespace fs = std::filesystem;
using testing::ReadJson;
using testing::SourceDir;

const std::vector<DType> kQuantTypes = {DType::kQ4_0, DType::kQ4_1, DType::kQ5_0, DType::kQ5_1,
                                        DType::kQ8_0, DType::kQ2_K, DType::kQ3_K, DType::kQ4_K,
                                        DType::kQ5_K, DType::kQ6_K};

fs::path GgufDir() { return SourceDir() / "../shared/testdata/gguf"; }

// ggml's type name (GGUF, gguf-py) and id (enum ggml_type) of each quantized DType.
struct GgmlType {
  const char* name;
  int id;
  DType dtype;
};
constexpr GgmlType kGgmlTypes[] = {
    {"Q4_0", 2, DType::kQ4_0},  {"Q4_1", 3, DType::kQ4_1},  {"Q5_0", 6, DType::kQ5_0},
    {"Q5_1", 7, DType::kQ5_1},  {"Q8_0", 8, DType::kQ8_0},  {"Q2_K", 10, DType::kQ2_K},
    {"Q3_K", 11, DType::kQ3_K}, {"Q4_K", 12, DType::kQ4_K}, {"Q5_K", 13, DType::kQ5_K},
    {"Q6_K", 14, DType::kQ6_K},
};

const GgmlType* FindGgmlType(const std::string& name) {
  for (const GgmlType& t : kGgmlTypes) {
    if (name == t.name) return &t;
  }
  return nullptr;
}

std::string ReadAt(const fs::path& p, int64_t offset, int64_t n) {
  std::ifstream in(p, std::ios::binary);
  in.seekg(offset);
  std::string bytes(static_cast<size_t>(n), '\0');
  in.read(bytes.data(), n);
  EXPECT_EQ(in.gcount(), n) << p << " @" << offset;
  return bytes;
}

// A float32, C-order .npy file (format 1.0-3.0): its shape and data.
struct NpyF32 {
  std::vector<int64_t> shape;
  std::vector<float> data;
};

NpyF32 ReadNpyF32(const fs::path& p) {
  const std::string bytes = testing::ReadBytes(p);
  NpyF32 out;
  if (bytes.size() < 10 || bytes.compare(0, 6, "\x93NUMPY") != 0) {
    ADD_FAILURE() << p << ": not a .npy file";
    return out;
  }
  const int major = static_cast<uint8_t>(bytes[6]);
  size_t header_len, header_start;
  if (major == 1) {
    header_len =
        static_cast<uint8_t>(bytes[8]) | static_cast<size_t>(static_cast<uint8_t>(bytes[9])) << 8;
    header_start = 10;
  } else {
    uint32_t len;
    std::memcpy(&len, bytes.data() + 8, 4);
    header_len = len;
    header_start = 12;
  }
  const std::string header = bytes.substr(header_start, header_len);
  if (header.find("'descr': '<f4'") == std::string::npos ||
      header.find("'fortran_order': False") == std::string::npos) {
    ADD_FAILURE() << p << ": want little-endian float32 in C order, header " << header;
    return out;
  }
  const size_t open = header.find('(', header.find("'shape'"));
  const size_t close = header.find(')', open);
  std::string dims = header.substr(open + 1, close - open - 1);
  int64_t numel = 1;
  for (size_t pos = 0; pos < dims.size();) {
    const size_t comma = dims.find(',', pos);
    const std::string d =
        dims.substr(pos, comma == std::string::npos ? std::string::npos : comma - pos);
    if (d.find_first_of("0123456789") != std::string::npos) {
      out.shape.push_back(std::stoll(d));
      numel *= out.shape.back();
    }
    if (comma == std::string::npos) break;
    pos = comma + 1;
  }
  const size_t data_start = header_start + header_len;
  if (bytes.size() != data_start + static_cast<size_t>(numel) * 4) {
    ADD_FAILURE() << p << ": " << bytes.size() - data_start << " data bytes for " << numel
                  << " floats";
    return out;
  }
  out.data.resize(static_cast<size_t>(numel));
  std::memcpy(out.data.data(), bytes.data() + data_start, out.data.size() * 4);
  return out;
}

// Index of the first element whose f32 bits differ, or -1.
int64_t FirstBitMismatch(const std::vector<float>& a, const std::vector<float>& b) {
  if (a.size() != b.size()) return 0;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::memcmp(&a[i], &b[i], 4) != 0) return static_cast<int64_t>(i);
  }
  return -1;
}

// ---------------------------------------------------------------------------------------------
// 1. Dequantization against gguf-py.

TEST(QuantDequantize, BitExactVsGgufPyOnLlamaQuantizeOutput) {
  int files = 0;
  std::map<DType, int> tensors_per_type;
  for (const auto& entry : fs::directory_iterator(GgufDir())) {
    const std::string name = entry.path().filename().string();
    if (name.size() < 14 || name.substr(name.size() - 13) != ".dequant.json") continue;
    ++files;
    const nlohmann::json index = ReadJson(entry.path());
    const fs::path gguf = GgufDir() / index.at("model").get<std::string>();
    for (const nlohmann::json& t : index.at("tensors")) {
      const std::string tname = t.at("name").get<std::string>();
      SCOPED_TRACE(name + " " + tname);
      const GgmlType* type = FindGgmlType(t.at("ggml_type").get<std::string>());
      ASSERT_NE(type, nullptr) << t.at("ggml_type");
      EXPECT_EQ(t.at("ggml_type_id").get<int>(), type->id);
      const int64_t ne0 = t.at("ne")[0].get<int64_t>(), ne1 = t.at("ne")[1].get<int64_t>();
      const int64_t nbytes = t.at("raw_nbytes").get<int64_t>();
      ASSERT_EQ(nbytes, ne1 * RowBytes(type->dtype, ne0));  // DTypeBlockBytes = sizeof(block)
      const std::string raw = ReadAt(gguf, t.at("data_offset_in_file").get<int64_t>(), nbytes);
      const NpyF32 want = ReadNpyF32(GgufDir() / t.at("npy").get<std::string>());
      ASSERT_EQ(want.shape, (std::vector<int64_t>{ne1, ne0}));

      std::vector<float> got(static_cast<size_t>(ne0 * ne1));
      Dequantize(raw.data(), type->dtype, got.data(), ne0 * ne1);
      const int64_t bad = FirstBitMismatch(got, want.data);
      EXPECT_EQ(bad, -1) << "first mismatch at " << bad << ": got " << got[bad] << " want "
                         << want.data[bad];
      ++tensors_per_type[type->dtype];

      // Row by row (as MatMul's reference and embedding lookups dequantize) gives the same.
      std::vector<float> row(static_cast<size_t>(ne0));
      for (int64_t r : {int64_t{0}, ne1 / 2, ne1 - 1}) {
        ref::Dequantize(raw.data() + r * RowBytes(type->dtype, ne0), type->dtype, row.data(), ne0);
        EXPECT_EQ(std::memcmp(row.data(), want.data.data() + r * ne0, ne0 * 4), 0) << "row " << r;
      }
    }
  }
  // README: 11 block-quantized files (10 llama types + qwen2 Q8_0), two tensors each.
  EXPECT_EQ(files, 11);
  for (DType t : kQuantTypes) {
    EXPECT_GE(tensors_per_type[t], 2) << DTypeName(t);
  }
}

TEST(QuantDequantize, FloatTypesWiden) {
  const std::vector<float> f = {1.5f, -2.25f, 0.0f, 65504.0f};
  std::vector<float> out(4);
  Dequantize(f.data(), DType::kF32, out.data(), 4);
  EXPECT_EQ(out, f);
  const std::vector<uint16_t> h = {F32ToF16(1.5f), F32ToF16(-2.25f), 0, F32ToF16(65504.0f)};
  Dequantize(h.data(), DType::kF16, out.data(), 4);
  EXPECT_EQ(out, f);
  const std::vector<uint16_t> b = {F32ToBF16(1.5f), F32ToBF16(-2.25f), 0, F32ToBF16(2.0f)};
  Dequantize(b.data(), DType::kBF16, out.data(), 4);
  EXPECT_EQ(out, (std::vector<float>{1.5f, -2.25f, 0.0f, 2.0f}));
}

// ---------------------------------------------------------------------------------------------
// 2. Quantization.

// A tensor of an F32 GGUF file: the F32 files keep index.json's tensor order and put the data,
// 32-byte aligned and unpadded (every size is a multiple of 32), at the end of the file.
std::vector<float> ReadF32Tensor(const std::string& model, const std::string& tensor) {
  const nlohmann::json index = ReadJson(GgufDir() / "index.json");
  for (const nlohmann::json& m : index.at("models")) {
    if (m.at("name") != model) continue;
    int64_t total = 0, offset = -1, numel = 0;
    for (const nlohmann::json& t : m.at("tensors")) {
      EXPECT_EQ(t.at("type"), "F32");
      int64_t n = 1;
      for (const nlohmann::json& d : t.at("ne")) n *= d.get<int64_t>();
      if (t.at("name") == tensor) {
        offset = total;
        numel = n;
      }
      total += (n * 4 + 31) / 32 * 32;
    }
    const fs::path file = GgufDir() / m.at("gguf").get<std::string>();
    const int64_t data_start = static_cast<int64_t>(fs::file_size(file)) - total;
    EXPECT_EQ(data_start % 32, 0);
    if (offset < 0) break;
    const std::string bytes = ReadAt(file, data_start + offset, numel * 4);
    std::vector<float> out(static_cast<size_t>(numel));
    std::memcpy(out.data(), bytes.data(), bytes.size());
    return out;
  }
  ADD_FAILURE() << model << " / " << tensor << " not in index.json";
  return {};
}

TEST(QuantQuantize, ReproducesLlamaQuantizeBytes) {
  struct Case {
    const char* f32_model;
    const char* quant_model;
    DType dtype;
  };
  const Case cases[] = {
      {"tiny-llama-f32", "tiny-llama-q8_0", DType::kQ8_0},
      {"tiny-llama-f32", "tiny-llama-q4_0", DType::kQ4_0},
      {"tiny-llama-f32", "tiny-llama-q4_k", DType::kQ4_K},
      {"tiny-qwen2-f32", "tiny-qwen2-q8_0", DType::kQ8_0},
  };
  for (const Case& c : cases) {
    const nlohmann::json index =
        ReadJson(GgufDir() / (std::string(c.quant_model) + ".dequant.json"));
    for (const nlohmann::json& t : index.at("tensors")) {
      const std::string tname = t.at("name").get<std::string>();
      SCOPED_TRACE(std::string(c.quant_model) + " " + tname);
      const std::vector<float> src = ReadF32Tensor(c.f32_model, tname);
      const int64_t n = static_cast<int64_t>(src.size());
      const int64_t nbytes = t.at("raw_nbytes").get<int64_t>();
      ASSERT_EQ(nbytes, RowBytes(c.dtype, n));
      const std::string want = ReadAt(GgufDir() / (std::string(c.quant_model) + ".gguf"),
                                      t.at("data_offset_in_file").get<int64_t>(), nbytes);
      std::string got(static_cast<size_t>(nbytes), '\0');
      Quantize(src.data(), c.dtype, got.data(), n);
      int64_t bad_blocks = 0, first_bad = -1;
      const int64_t bb = DTypeBlockBytes(c.dtype);
      for (int64_t b = 0; b < nbytes / bb; ++b) {
        if (got.compare(b * bb, bb, want, b * bb, bb) != 0) {
          if (first_bad < 0) first_bad = b;
          ++bad_blocks;
        }
      }
      EXPECT_EQ(bad_blocks, 0) << "of " << nbytes / bb << " blocks differ, first " << first_bad;
    }
  }
}

// N(0, sigma^2) samples, with a few blocks made special: all zero, constant, one outlier.
std::vector<float> GaussianWithEdgeCases(int64_t n, float sigma, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(0.0f, sigma);
  std::vector<float> v(static_cast<size_t>(n));
  for (float& x : v) x = dist(rng);
  for (int64_t i = 0; i < 32; ++i) v[i] = 0.0f;                // first 32: zero
  for (int64_t i = 32; i < 64; ++i) v[i] = 0.75f * sigma;      // next 32: constant
  v[100] = 40.0f * sigma;                                      // an outlier
  for (int64_t i = 256; i < 512; ++i) v[i] = std::fabs(v[i]);  // a non-negative super-block
  return v;
}

TEST(QuantQuantize, RoundTripErrorBounds) {
  const int64_t n = 64 * 256;
  const float sigma = 0.05f;
  const std::vector<float> x = GaussianWithEdgeCases(n, sigma, 7);
  for (DType t : {DType::kQ8_0, DType::kQ4_0, DType::kQ4_K}) {
    SCOPED_TRACE(std::string(DTypeName(t)));
    ASSERT_TRUE(CanQuantize(t));
    std::vector<uint8_t> q(static_cast<size_t>(RowBytes(t, n)));
    std::vector<float> back(static_cast<size_t>(n));
    Quantize(x.data(), t, q.data(), n);
    Dequantize(q.data(), t, back.data(), n);
    double sq = 0.0;
    for (int64_t b = 0; b < n / 32; ++b) {
      float amax = 0.0f;
      for (int64_t i = 32 * b; i < 32 * b + 32; ++i) amax = std::max(amax, std::fabs(x[i]));
      for (int64_t i = 32 * b; i < 32 * b + 32; ++i) {
        const double err = std::fabs(static_cast<double>(back[i]) - x[i]);
        sq += err * err;
        if (t == DType::kQ8_0) {
          // Step d = amax / 127 (f16, relative error <= 2^-11): rounding costs d / 2, the f16
          // scale at most 127 d 2^-11.
          ASSERT_LE(err, amax / 127.0 * (0.5 + 127 * 0x1p-11) * (1 + 1e-6)) << i;
        } else if (t == DType::kQ4_0) {
          // d = amax / 8; x / d in [-8, 8] but levels stop at +7: error <= d, plus 8 d 2^-11.
          ASSERT_LE(err, amax / 8.0 * (1 + 8 * 0x1p-11) * (1 + 1e-6)) << i;
        }
      }
      if (amax == 0.0f) {
        for (int64_t i = 32 * b; i < 32 * b + 32; ++i) ASSERT_EQ(back[i], 0.0f) << i;
      }
    }
    // RMS over the tensor against a uniform grid's step / sqrt(12), the grid spanning 5 sigma
    // (a 32-sample block's range is about that) with 255 levels (Q8_0) or 16 (Q4_0, and Q4_K,
    // whose min/scale search should do no worse); 1.5x for the outlier block and clamping.
    const double rms = std::sqrt(sq / n);
    const double levels = t == DType::kQ8_0 ? 255 : 16;
    EXPECT_LE(rms, 5.0 * sigma / (levels - 1) / std::sqrt(12.0) * 1.5) << "rms " << rms;
  }
}

// Re-quantizing dequantized Q8_0 / Q4_0 data gives back the same bytes: the block maximum lands
// exactly on a level (127 d, resp. -8 d) so the recomputed scale is the stored one.
TEST(QuantQuantize, Q8_0AndQ4_0AreIdempotent) {
  const int64_t n = 32 * 64;
  const std::vector<float> x = GaussianWithEdgeCases(n, 1.0f, 11);
  for (DType t : {DType::kQ8_0, DType::kQ4_0}) {
    SCOPED_TRACE(std::string(DTypeName(t)));
    std::vector<uint8_t> q1(static_cast<size_t>(RowBytes(t, n))), q2(q1.size());
    std::vector<float> back(static_cast<size_t>(n));
    Quantize(x.data(), t, q1.data(), n);
    Dequantize(q1.data(), t, back.data(), n);
    Quantize(back.data(), t, q2.data(), n);
    EXPECT_EQ(q1, q2);
  }
}

TEST(QuantQuantize, HandComputedBlocks) {
  // Q8_0 of 0, 1, ..., 31 (scaled): amax 31 -> d = 31/127, q_i = round(i * 127 / 31).
  std::vector<float> x(32);
  for (int i = 0; i < 32; ++i) x[i] = static_cast<float>(i);
  std::vector<uint8_t> q(34);
  Quantize(x.data(), DType::kQ8_0, q.data(), 32);
  uint16_t d;
  std::memcpy(&d, q.data(), 2);
  EXPECT_EQ(d, F32ToF16(31.0f / 127.0f));
  for (int i = 0; i < 32; ++i) {
    EXPECT_EQ(static_cast<int8_t>(q[2 + i]), static_cast<int>(std::lround(i * 127.0 / 31.0))) << i;
  }
  // Q4_0 of -8, -7, ..., 8, -8, ..., 6: the first of the largest magnitudes (-8) sets
  // d = -8 / -8 = 1, so q = x + 8, and 8 clamps to level 15 (= 7).
  for (int i = 0; i < 32; ++i) x[i] = static_cast<float>(i % 17 - 8);
  std::vector<uint8_t> q4(18);
  Quantize(x.data(), DType::kQ4_0, q4.data(), 32);
  std::memcpy(&d, q4.data(), 2);
  EXPECT_EQ(F16ToF32(d), 1.0f);
  std::vector<float> back(32);
  Dequantize(q4.data(), DType::kQ4_0, back.data(), 32);
  for (int i = 0; i < 32; ++i) EXPECT_EQ(back[i], std::min(x[i], 7.0f)) << i;
}

TEST(QuantQuantize, OnlyQ8_0Q4_0Q4_K) {
  for (DType t : kQuantTypes) {
    EXPECT_EQ(CanQuantize(t), t == DType::kQ8_0 || t == DType::kQ4_0 || t == DType::kQ4_K)
        << DTypeName(t);
  }
  EXPECT_FALSE(CanQuantize(DType::kF32));
  EXPECT_DEATH(
      Quantize(std::vector<float>(32).data(), DType::kQ5_0, std::vector<uint8_t>(22).data(), 32),
      "Quantize: dtype q5_0");
}

// ---------------------------------------------------------------------------------------------
// 3. MatMul with quantized weights: fast paths against the reference.

// Byte offsets of each type's f16 fields (d, and m / dmin).
std::vector<int> HalfFields(DType t) {
  switch (t) {
    case DType::kQ4_0:
    case DType::kQ5_0:
    case DType::kQ8_0:
      return {0};
    case DType::kQ4_1:
    case DType::kQ5_1:
    case DType::kQ4_K:
    case DType::kQ5_K:
      return {0, 2};
    case DType::kQ2_K:
      return {80, 82};
    case DType::kQ3_K:
      return {108};
    case DType::kQ6_K:
      return {208};
    default:
      return {};
  }
}

// n rows of k random weights in `t`: uniformly random quant bits and packed scales, f16 fields
// random in +-[2^-10, 2^-4] (mins positive, as quantizers write them), so every bit pattern of
// the packed fields is exercised.
std::vector<uint8_t> RandomBlocks(DType t, int64_t n, int64_t k, uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<uint8_t> w(static_cast<size_t>(n * RowBytes(t, k)));
  for (uint8_t& b : w) b = static_cast<uint8_t>(rng());
  std::uniform_real_distribution<float> mag(-10.0f, -4.0f);
  const std::vector<int> fields = HalfFields(t);
  const int64_t bb = DTypeBlockBytes(t);
  for (size_t b = 0; b < w.size() / bb; ++b) {
    for (size_t f = 0; f < fields.size(); ++f) {
      const float sign = f == 0 && (rng() & 1) ? -1.0f : 1.0f;
      const uint16_t h = F32ToF16(sign * std::exp2(mag(rng)));
      std::memcpy(w.data() + b * bb + fields[f], &h, 2);
    }
  }
  return w;
}

// (k + 2) FLT_EPSILON sum_kk |x[i, kk] w[j, kk]| (+ |bias[j]|) per output (see the header).
std::vector<double> DotTolerance(const std::vector<float>& x, const std::vector<float>& w,
                                 const float* bias, int64_t m, int64_t n, int64_t k) {
  std::vector<double> tol(static_cast<size_t>(m * n));
  for (int64_t i = 0; i < m; ++i) {
    for (int64_t j = 0; j < n; ++j) {
      double abs_sum = bias ? std::fabs(bias[j]) : 0.0;
      for (int64_t kk = 0; kk < k; ++kk) abs_sum += std::fabs(x[i * k + kk] * w[j * k + kk]);
      tol[i * n + j] = (k + 2) * kEps * abs_sum + 1e-30;
    }
  }
  return tol;
}

class QuantMatMulTest : public ::testing::TestWithParam<Isa> {
 protected:
  void SetUp() override {
    if (!IsaSupported(GetParam())) GTEST_SKIP() << "CPU lacks " << IsaName(GetParam());
    mat_mul_ = GetParam() == Isa::kAvx512Bf16 ? avx512bf16::MatMul
               : GetParam() == Isa::kAvx512   ? avx512::MatMul
                                              : avx2::MatMul;
  }
  decltype(&ref::MatMul) mat_mul_ = nullptr;
};

INSTANTIATE_TEST_SUITE_P(Isas, QuantMatMulTest,
                         ::testing::Values(Isa::kAvx2, Isa::kAvx512, Isa::kAvx512Bf16),
                         [](const ::testing::TestParamInfo<Isa>& info) {
                           return std::string(IsaName(info.param));
                         });

void CheckMatMul(Isa isa, decltype(&ref::MatMul) mat_mul, DType t, int64_t m, int64_t n, int64_t k,
                 bool with_bias, uint32_t seed) {
  SCOPED_TRACE(std::string(DTypeName(t)) + " m=" + std::to_string(m) + " n=" + std::to_string(n) +
               " k=" + std::to_string(k) + (with_bias ? " bias" : ""));
  const std::vector<float> x0 = RandomVector(m * k, -1, 1, seed);
  const std::vector<float> x = MatMulActivations(isa, t, x0, m, k);  // what the fast path uses
  const std::vector<uint8_t> w = RandomBlocks(t, n, k, seed + 1);
  const std::vector<float> bias = RandomVector(n, -1, 1, seed + 2);
  const float* b = with_bias ? bias.data() : nullptr;
  std::vector<float> got(m * n, std::numeric_limits<float>::quiet_NaN());
  std::vector<float> want(m * n);
  mat_mul(x0.data(), w.data(), t, b, got.data(), m, n, k);
  ref::MatMul(x.data(), w.data(), t, b, want.data(), m, n, k);
  std::vector<float> wf(static_cast<size_t>(n * k));
  ref::Dequantize(w.data(), t, wf.data(), n * k);
  ExpectWithin(got, want, DotTolerance(x, wf, b, m, n, k), "MatMul");
}

TEST_P(QuantMatMulTest, MatchesReferenceEveryType) {
  // m = 1 takes 1x4 tiles (n = 45: eleven of them and a 1x1 tail; 16-row tasks); m > 1 takes
  // 4x2 tiles with row and column tails, k in chunks of 1024 (k = 1280, 1056: a partial chunk).
  struct Shape {
    int64_t n, k;
  };
  uint32_t seed = 1000;
  for (DType t : kQuantTypes) {
    const bool k_type = DTypeBlockElems(t) == 256;
    const std::vector<Shape> shapes =
        k_type ? std::vector<Shape>{{45, 256}, {33, 512}, {256, 512}, {7, 1280}}
               : std::vector<Shape>{{45, 256}, {33, 512}, {256, 512}, {7, 1056}, {5, 32}};
    for (int64_t m : {1, 3, 17, 64}) {
      for (const Shape& s : shapes) {
        CheckMatMul(GetParam(), mat_mul_, t, m, s.n, s.k, /*with_bias=*/(seed & 1) != 0, seed);
        seed += 3;
      }
    }
  }
}

TEST_P(QuantMatMulTest, RealLlamaQuantizeWeights) {
  // The ffn_down tensor ([256 rows, 512]) of every quantized file, x a batch of 5 rows.
  for (const GgmlType& type : kGgmlTypes) {
    std::string model = "tiny-llama-" + std::string(type.name);
    for (char& ch : model) ch = static_cast<char>(std::tolower(ch));
    const nlohmann::json index = ReadJson(GgufDir() / (model + ".dequant.json"));
    const nlohmann::json& t = index.at("tensors")[1];
    const int64_t k = t.at("ne")[0].get<int64_t>(), n = t.at("ne")[1].get<int64_t>();
    const std::string raw =
        ReadAt(GgufDir() / (model + ".gguf"), t.at("data_offset_in_file").get<int64_t>(),
               t.at("raw_nbytes").get<int64_t>());
    for (int64_t m : {1, 5}) {
      SCOPED_TRACE(model + " m=" + std::to_string(m));
      const std::vector<float> x0 = RandomVector(m * k, -1, 1, 77);
      const std::vector<float> x = MatMulActivations(GetParam(), type.dtype, x0, m, k);
      std::vector<float> got(m * n), want(m * n);
      mat_mul_(x0.data(), raw.data(), type.dtype, nullptr, got.data(), m, n, k);
      ref::MatMul(x.data(), raw.data(), type.dtype, nullptr, want.data(), m, n, k);
      std::vector<float> wf(static_cast<size_t>(n * k));
      Dequantize(raw.data(), type.dtype, wf.data(), n * k);
      ExpectWithin(got, want, DotTolerance(x, wf, nullptr, m, n, k), "MatMul");
    }
  }
}

TEST(QuantDispatch, PublicMatMulTakesQuantizedWeights) {
  const int64_t m = 2, n = 9, k = 512;
  const std::vector<float> x = RandomVector(m * k, -1, 1, 3);
  for (DType t : kQuantTypes) {
    SCOPED_TRACE(std::string(DTypeName(t)));
    const std::vector<uint8_t> w = RandomBlocks(t, n, k, 4);
    std::vector<float> wf(static_cast<size_t>(n * k));
    Dequantize(w.data(), t, wf.data(), n * k);
    for (Activations a : {Activations::kF32, Activations::kLikeWeights}) {
      const std::vector<float> xr =
          a == Activations::kF32 ? x : MatMulActivations(ActiveIsa(), t, x, m, k);
      std::vector<float> got(m * n), want(m * n);
      MatMul(x.data(), w.data(), t, nullptr, got.data(), m, n, k, a);
      ref::MatMul(xr.data(), w.data(), t, nullptr, want.data(), m, n, k);
      ExpectWithin(got, want, DotTolerance(xr, wf, nullptr, m, n, k), "MatMul");
    }
  }
}

TEST(Avx512Bf16MatMul, RoundsActivationsExactlyAsQ8_0) {
  // Activations are rounded as ref::Quantize(Q8_0) does: d = 127 / 127 = 1, so x * (1 / d) is x
  // and the halves are ties, which go away from zero (roundf), not to even (the SIMD default).
  if (!IsaSupported(Isa::kAvx512Bf16)) GTEST_SKIP() << "CPU lacks avx512bf16";
  const int64_t m = 1, n = 16, k = 64;
  std::vector<float> x(k);
  for (int64_t i = 0; i < k; ++i) x[i] = (i % 2 ? -1.0f : 1.0f) * (static_cast<float>(i) + 0.5f);
  x[0] = 127.0f;
  x[32] = -127.0f;
  for (DType t : {DType::kQ8_0, DType::kQ4_0}) {
    SCOPED_TRACE(std::string(DTypeName(t)));
    const std::vector<uint8_t> w = RandomBlocks(t, n, k, 9);
    const std::vector<float> xr = MatMulActivations(Isa::kAvx512Bf16, t, x, m, k);
    EXPECT_EQ(xr[1], -2.0f);  // -1.5
    EXPECT_EQ(xr[2], 3.0f);   // 2.5 (even would be 2)
    std::vector<float> got(n), want(n), wf(static_cast<size_t>(n * k));
    avx512bf16::MatMul(x.data(), w.data(), t, nullptr, got.data(), m, n, k);
    ref::MatMul(xr.data(), w.data(), t, nullptr, want.data(), m, n, k);
    Dequantize(w.data(), t, wf.data(), n * k);
    ExpectWithin(got, want, DotTolerance(xr, wf, nullptr, m, n, k), "MatMul");
  }
}

TEST(Avx512Bf16MatMul, InterleavedWeightsMatchRowMajor) {
  // Q4_0 / Q8_0 / Q6_K / bf16 interleaved 16 rows at a time (kernels/interleaved.h) against the
  // reference on the row-major weights and the rounded x: every x tile height (1-8 rows, a 17-row
  // tail), one to five 64-column units (bf16: also a k whose column pairs are not a multiple of
  // the 4 chains of one x row), several panels.
  if (!IsaSupported(Isa::kAvx512Bf16)) GTEST_SKIP() << "CPU lacks avx512bf16";
  struct Shape {
    int64_t n, k;
  };
  uint32_t seed = 500;
  for (DType t : {DType::kQ4_0, DType::kQ8_0, DType::kQ6_K, DType::kBF16}) {
    std::vector<Shape> shapes = {{16, 64}, {48, 128}, {32, 320}};
    if (t == DType::kQ6_K) shapes = {{16, 256}, {48, 512}};
    if (t == DType::kBF16) shapes.push_back({16, 38});
    for (const Shape s : shapes) {
      std::vector<uint8_t> w;
      if (t == DType::kBF16) {
        for (float v : RandomVector(s.n * s.k, -1, 1, seed++)) {
          const uint16_t h = F32ToBF16(v);
          w.push_back(static_cast<uint8_t>(h & 0xFF));
          w.push_back(static_cast<uint8_t>(h >> 8));
        }
      } else {
        w = RandomBlocks(t, s.n, s.k, seed++);
      }
      const DType layout = PreferredWeightLayout(t, s.n, s.k, Activations::kLikeWeights);
      ASSERT_NE(layout, t);
      std::vector<uint8_t> packed(w.size());
      RepackWeights(w.data(), t, layout, packed.data(), s.n, s.k);
      std::vector<float> wf(static_cast<size_t>(s.n * s.k));
      Dequantize(w.data(), t, wf.data(), s.n * s.k);
      const std::vector<float> bias = RandomVector(s.n, -1, 1, seed++);
      for (int64_t m : {1, 2, 3, 7, 8, 9, 17}) {
        SCOPED_TRACE(std::string(DTypeName(layout)) + " m=" + std::to_string(m) +
                     " n=" + std::to_string(s.n) + " k=" + std::to_string(s.k));
        const float* b = m % 2 ? bias.data() : nullptr;
        const std::vector<float> x = RandomVector(m * s.k, -1, 1, seed++);
        const std::vector<float> xr = MatMulActivations(Isa::kAvx512Bf16, t, x, m, s.k);
        std::vector<float> got(m * s.n, std::numeric_limits<float>::quiet_NaN()), want(m * s.n);
        avx512bf16::MatMul(x.data(), packed.data(), layout, b, got.data(), m, s.n, s.k);
        ref::MatMul(xr.data(), w.data(), t, b, want.data(), m, s.n, s.k);
        ExpectWithin(got, want, DotTolerance(xr, wf, b, m, s.n, s.k), "MatMul");
        // Each row exactly as alone: a sequence's results do not depend on its batch.
        std::vector<float> alone(s.n);
        for (int64_t i = 0; i < m; ++i) {
          avx512bf16::MatMul(x.data() + i * s.k, packed.data(), layout, b, alone.data(), 1, s.n,
                             s.k);
          for (int64_t j = 0; j < s.n; ++j) ASSERT_EQ(got[i * s.n + j], alone[j]) << i << "," << j;
        }
      }
    }
  }
}

TEST(QuantDispatch, MatMulsGiveEachMatMulBitForBit) {
  // One x times three weights (a layer's q, k, v), interleaved or not, in one layout or mixed
  // (Q4_0 rows that do not fit 16-row panels stay row-major): each y as its own MatMul gives.
  struct Weight {
    DType t;
    int64_t n;
  };
  const int64_t k = 256;
  const std::vector<std::vector<Weight>> groups = {
      {{DType::kQ4_0, 64}, {DType::kQ4_0, 16}, {DType::kQ4_0, 32}},
      {{DType::kQ8_0, 32}, {DType::kQ8_0, 48}},
      {{DType::kQ6_K, 16}, {DType::kQ6_K, 32}},
      {{DType::kBF16, 48}, {DType::kBF16, 16}},
      {{DType::kQ4_0, 32}, {DType::kQ4_0, 24}, {DType::kQ8_0, 16}}};
  uint32_t seed = 900;
  for (const Activations act : {Activations::kLikeWeights, Activations::kF32}) {
    for (const std::vector<Weight>& group : groups) {
      std::vector<std::vector<uint8_t>> ws;
      std::vector<std::vector<float>> biases;
      std::vector<MatMulOut> outs;
      for (const Weight& g : group) {
        std::vector<uint8_t> w;
        if (g.t == DType::kBF16) {
          for (float v : RandomVector(g.n * k, -1, 1, seed++)) {
            const uint16_t h = F32ToBF16(v);
            w.push_back(static_cast<uint8_t>(h & 0xFF));
            w.push_back(static_cast<uint8_t>(h >> 8));
          }
        } else {
          w = RandomBlocks(g.t, g.n, k, seed++);
        }
        const DType layout = PreferredWeightLayout(g.t, g.n, k, act);
        std::vector<uint8_t> stored(w.size());
        if (layout == g.t) {
          stored = w;
        } else {
          RepackWeights(w.data(), g.t, layout, stored.data(), g.n, k);
        }
        ws.push_back(std::move(stored));
        biases.push_back(RandomVector(g.n, -1, 1, seed++));
        outs.push_back({nullptr, layout, nullptr, nullptr, g.n});
      }
      for (int64_t m : {1, 5, 17}) {
        SCOPED_TRACE(std::string(DTypeName(outs[0].w_dtype)) + " m=" + std::to_string(m));
        const std::vector<float> x = RandomVector(m * k, -1, 1, seed++);
        std::vector<std::vector<float>> got(outs.size());
        for (size_t i = 0; i < outs.size(); ++i) {
          got[i].assign(m * outs[i].n, std::numeric_limits<float>::quiet_NaN());
          outs[i].w = ws[i].data();
          outs[i].bias = i == 1 ? biases[i].data() : nullptr;
          outs[i].y = got[i].data();
        }
        MatMuls(x.data(), outs, m, k, act);
        for (size_t i = 0; i < outs.size(); ++i) {
          std::vector<float> want(m * outs[i].n);
          MatMul(x.data(), outs[i].w, outs[i].w_dtype, outs[i].bias, want.data(), m, outs[i].n, k,
                 act);
          for (size_t j = 0; j < want.size(); ++j) {
            ASSERT_EQ(got[i][j], want[j]) << "weight " << i << " element " << j;
          }
        }
      }
    }
  }
}

TEST(QuantDispatch, PreferredWeightLayoutInterleavesOnlyWhereMatMulReadsIt) {
  const bool vnni = ActiveIsa() == Isa::kAvx512Bf16;
  const Activations like = Activations::kLikeWeights;
  EXPECT_EQ(PreferredWeightLayout(DType::kQ4_0, 32, 128, like),
            vnni ? DType::kQ4_0x16 : DType::kQ4_0);
  EXPECT_EQ(PreferredWeightLayout(DType::kQ8_0, 16, 64, like),
            vnni ? DType::kQ8_0x16 : DType::kQ8_0);
  EXPECT_EQ(PreferredWeightLayout(DType::kQ4_0, 32, 128, Activations::kF32), DType::kQ4_0);
  EXPECT_EQ(PreferredWeightLayout(DType::kQ4_0, 24, 128, like), DType::kQ4_0);  // n % 16
  EXPECT_EQ(PreferredWeightLayout(DType::kQ8_0, 32, 96, like), DType::kQ8_0);   // k % 64
  EXPECT_EQ(PreferredWeightLayout(DType::kQ6_K, 32, 256, like),
            vnni ? DType::kQ6_Kx16 : DType::kQ6_K);
  EXPECT_EQ(PreferredWeightLayout(DType::kQ4_K, 32, 256, like), DType::kQ4_K);
  EXPECT_EQ(PreferredWeightLayout(DType::kBF16, 32, 128, like),
            vnni ? DType::kBF16x16 : DType::kBF16);
  EXPECT_EQ(PreferredWeightLayout(DType::kBF16, 32, 127, like), DType::kBF16);  // k odd
  EXPECT_EQ(PreferredWeightLayout(DType::kF16, 32, 128, like), DType::kF16);
}

}  // namespace
}  // namespace loom::kernels
