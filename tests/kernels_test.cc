// Kernels: the scalar references against hand-computed values, then every fast path (called
// directly per ISA, skipped where the CPU lacks it) against the references on random inputs.
//
// Tolerances are derived, not tuned. u = 2^-24 is the f32 unit roundoff (FLT_EPSILON = 2u).
// The references compute in double and round once, so their own error is <= u |result| and is
// folded into the bounds below.
//  - Dot products of length k (Higham, "Accuracy and Stability of Numerical Algorithms", 3.1):
//    |fl(x.w) - x.w| <= gamma_k sum|x_i w_i|, gamma_k ~= k u. The fast paths keep kLanes partial
//    sums and tree-reduce them, so their depth is only k/kLanes + log2(kLanes), but k u is the
//    safe bound; we allow (k + 2) FLT_EPSILON sum|x_i w_i| (2x margin, +2 for bias add and
//    final rounding). f16/bf16 weights widen to f32 exactly and the reference reads the very same
//    16-bit values, so the weight dtype adds no error: its quantisation is common to both sides.
//  - exp: Cephes polynomial, ~2 ulp; its argument a carries the rounding of whatever produced it
//    (|a| u), which exp turns into relative error |a| u. Each further f32 op adds <= u relative.
//  - erf (rational approximation, a few ulp of |erf| <= 1) enters gelu as 0.5 x (1 + erf): an
//    absolute error in erf of c u becomes an absolute error of 0.5 |x| c u in the output.
#include "kernels/kernels.h"

#include <gtest/gtest.h>
#include <omp.h>

#include <algorithm>
#include <atomic>
#include <cfloat>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "core/dtype.h"
#include "kernel_test_util.h"
#include "kernels/cpu/cpu_kernels.h"
#include "kernels/cpu/panel_tiles.h"
#include "kernels/dispatch.h"
#include "kernels/ref/ref.h"

namespace loom::kernels {
namespace {

// Tolerance rtol |want| + atol per element.
std::vector<double> RelTol(const std::vector<float>& want, double rtol, double atol) {
  std::vector<double> tol(want.size());
  for (size_t i = 0; i < want.size(); ++i) tol[i] = rtol * std::fabs(want[i]) + atol;
  return tol;
}

// Weights [n, k] stored in `dtype`; `f32` is the source before rounding.
std::vector<uint8_t> EncodeWeights(const std::vector<float>& f32, DType dtype) {
  std::vector<uint8_t> bytes(f32.size() * DTypeSize(dtype));
  for (size_t i = 0; i < f32.size(); ++i) {
    if (dtype == DType::kF32) {
      std::memcpy(bytes.data() + 4 * i, &f32[i], 4);
    } else {
      const uint16_t h = dtype == DType::kBF16 ? F32ToBF16(f32[i]) : F32ToF16(f32[i]);
      std::memcpy(bytes.data() + 2 * i, &h, 2);
    }
  }
  return bytes;
}

float DecodeWeight(const std::vector<uint8_t>& bytes, DType dtype, size_t i) {
  if (dtype == DType::kF32) {
    float f;
    std::memcpy(&f, bytes.data() + 4 * i, 4);
    return f;
  }
  uint16_t h;
  std::memcpy(&h, bytes.data() + 2 * i, 2);
  return dtype == DType::kBF16 ? BF16ToF32(h) : F16ToF32(h);
}

// ---------------------------------------------------------------------------------------------
// Scalar conversions.

float Bits(uint32_t b) {
  float f;
  std::memcpy(&f, &b, 4);
  return f;
}

TEST(DTypeConversion, BF16KnownValues) {
  EXPECT_EQ(F32ToBF16(1.0f), 0x3F80);
  EXPECT_EQ(F32ToBF16(-2.5f), 0xC020);
  EXPECT_EQ(BF16ToF32(0x3F80), 1.0f);
  EXPECT_EQ(BF16ToF32(0xC020), -2.5f);
  EXPECT_EQ(F32ToBF16(0.0f), 0x0000);
  EXPECT_EQ(F32ToBF16(-0.0f), 0x8000);
  EXPECT_EQ(F32ToBF16(std::numeric_limits<float>::infinity()), 0x7F80);
  // Ties to even: 1 + 2^-8 sits halfway between 1 (0x3F80, even) and 1 + 2^-7 (0x3F81).
  EXPECT_EQ(F32ToBF16(1.0f + 0x1p-8f), 0x3F80);
  // 1 + 3 * 2^-8 sits halfway between 0x3F81 (odd) and 0x3F82 (even).
  EXPECT_EQ(F32ToBF16(1.0f + 3 * 0x1p-8f), 0x3F82);
  // Just above the tie rounds up.
  EXPECT_EQ(F32ToBF16(Bits(0x3F808001u)), 0x3F81);
  const uint16_t nan = F32ToBF16(std::numeric_limits<float>::quiet_NaN());
  EXPECT_TRUE(std::isnan(BF16ToF32(nan)));
  // A NaN whose payload lives only in the low 16 bits must not round to inf.
  EXPECT_TRUE(std::isnan(BF16ToF32(F32ToBF16(Bits(0x7F800001u)))));
}

TEST(DTypeConversion, F16KnownValues) {
  EXPECT_EQ(F32ToF16(1.0f), 0x3C00);
  EXPECT_EQ(F32ToF16(-2.5f), 0xC100);
  EXPECT_EQ(F32ToF16(65504.0f), 0x7BFF);  // largest finite f16
  EXPECT_EQ(F16ToF32(0x3C00), 1.0f);
  EXPECT_EQ(F16ToF32(0xC100), -2.5f);
  EXPECT_EQ(F16ToF32(0x7BFF), 65504.0f);
  EXPECT_EQ(F16ToF32(0x0001), 0x1p-24f);  // smallest subnormal
  EXPECT_EQ(F32ToF16(0x1p-24f), 0x0001);
  EXPECT_EQ(F16ToF32(0x03FF), 1023 * 0x1p-24f);  // largest subnormal
  EXPECT_EQ(F16ToF32(0x0400), 0x1p-14f);         // smallest normal
  EXPECT_EQ(F32ToF16(0x1p-14f), 0x0400);
  EXPECT_EQ(F16ToF32(0x7C00), std::numeric_limits<float>::infinity());
  EXPECT_EQ(F32ToF16(65520.0f), 0x7C00);  // halfway to 2^16 rounds (to even) up to inf
  EXPECT_EQ(F32ToF16(65519.0f), 0x7BFF);
  EXPECT_EQ(F32ToF16(0x1p-25f), 0x0000);  // halfway between 0 and 2^-24: to even (0)
  EXPECT_EQ(F32ToF16(0x1.000002p-25f), 0x0001);
  // Ties to even among normals: 1 + 2^-11 is halfway between 0x3C00 and 0x3C01.
  EXPECT_EQ(F32ToF16(1.0f + 0x1p-11f), 0x3C00);
  EXPECT_EQ(F32ToF16(1.0f + 3 * 0x1p-11f), 0x3C02);
  EXPECT_TRUE(std::isnan(F16ToF32(F32ToF16(std::numeric_limits<float>::quiet_NaN()))));
  EXPECT_TRUE(std::isnan(F16ToF32(0x7E00)));
}

// ---------------------------------------------------------------------------------------------
// Reference kernels against hand-computed values.

TEST(RefKernels, MatMul2x2AllDTypes) {
  const std::vector<float> x = {1, 2, 3, 4};      // [2, 2]
  const std::vector<float> w_f32 = {5, 6, 7, 8};  // [2, 2], exact in f16 and bf16
  const std::vector<float> bias = {1, -1};
  for (DType dt : {DType::kF32, DType::kF16, DType::kBF16}) {
    SCOPED_TRACE(std::string(DTypeName(dt)));
    const std::vector<uint8_t> w = EncodeWeights(w_f32, dt);
    std::vector<float> y(4);
    ref::MatMul(x.data(), w.data(), dt, nullptr, y.data(), 2, 2, 2);
    EXPECT_EQ(y, (std::vector<float>{17, 23, 39, 53}));
    ref::MatMul(x.data(), w.data(), dt, bias.data(), y.data(), 2, 2, 2);
    EXPECT_EQ(y, (std::vector<float>{18, 22, 40, 52}));
  }
}

TEST(RefKernels, RmsNorm) {
  std::vector<float> x = {3, 4};
  const std::vector<float> w = {1, 2};
  ref::RmsNorm(x.data(), w.data(), x.data(), 1, 2, 0.0f);  // rms = sqrt(12.5), in place
  EXPECT_FLOAT_EQ(x[0], 3 / std::sqrt(12.5f));
  EXPECT_FLOAT_EQ(x[1], 8 / std::sqrt(12.5f));
}

TEST(RefKernels, Activations) {
  std::vector<float> x = {0.0f, 1.0f, -1.0f};
  ref::Silu(x.data(), 3);
  EXPECT_EQ(x[0], 0.0f);
  EXPECT_FLOAT_EQ(x[1], 0.7310585786f);
  EXPECT_FLOAT_EQ(x[2], -0.2689414214f);

  const std::vector<float> gate = {1.0f, 2.0f};
  const std::vector<float> up = {2.0f, -1.0f};
  std::vector<float> out(2);
  ref::SiluMul(gate.data(), up.data(), out.data(), 2);
  EXPECT_FLOAT_EQ(out[0], 2 * 0.7310585786f);
  EXPECT_FLOAT_EQ(out[1], -2 / (1 + std::exp(-2.0f)));

  // The gelus against their defining formulas evaluated with std:: in f32.
  const std::vector<float> in = RandomVector(257, -6.0f, 6.0f, 11);
  std::vector<float> ge = in;
  std::vector<float> gt = in;
  ref::GeluErf(ge.data(), static_cast<int64_t>(ge.size()));
  ref::GeluTanh(gt.data(), static_cast<int64_t>(gt.size()));
  for (size_t i = 0; i < in.size(); ++i) {
    const float v = in[i];
    const float want_erf = 0.5f * v * (1.0f + std::erf(v / std::sqrt(2.0f)));
    const float u = std::sqrt(2.0f / static_cast<float>(M_PI)) * (v + 0.044715f * v * v * v);
    const float want_tanh = 0.5f * v * (1.0f + std::tanh(u));
    // The f32 formulas lose up to ~|x| u to cancellation in 1 + erf/tanh near -1.
    EXPECT_NEAR(ge[i], want_erf, 4 * kEps * (std::fabs(want_erf) + std::fabs(v))) << v;
    EXPECT_NEAR(gt[i], want_tanh, 4 * kEps * (std::fabs(want_tanh) + std::fabs(v))) << v;
  }
  std::vector<float> g0 = {0.0f, 1.0f};
  ref::GeluErf(g0.data(), 2);
  EXPECT_EQ(g0[0], 0.0f);
  EXPECT_FLOAT_EQ(g0[1], 0.8413447461f);  // Phi(1)
}

TEST(RefKernels, SoftmaxOfZeroAndLog3) {
  std::vector<float> x = {0.0f, std::log(3.0f), 5.0f, 5.0f};  // two rows
  ref::Softmax(x.data(), 2, 2);
  EXPECT_FLOAT_EQ(x[0], 0.25f);
  EXPECT_FLOAT_EQ(x[1], 0.75f);
  EXPECT_FLOAT_EQ(x[2], 0.5f);
  EXPECT_FLOAT_EQ(x[3], 0.5f);

  const std::vector<float> in = {0.0f, std::log(3.0f)};
  std::vector<float> y(2);
  ref::LogSoftmax(in.data(), y.data(), 1, 2);
  EXPECT_FLOAT_EQ(y[0], std::log(0.25f));
  EXPECT_FLOAT_EQ(y[1], std::log(0.75f));
}

TEST(RefKernels, RopeQuarterTurn) {
  // head_dim 4 (half 2): pairs (x0, x2) and (x1, x3). Angle 90 deg on pair 0, 0 deg on pair 1.
  std::vector<float> x = {1.0f, 5.0f, 2.0f, 7.0f};
  const std::vector<float> cos = {0.0f, 1.0f};
  const std::vector<float> sin = {1.0f, 0.0f};
  ref::RopeNeox(x.data(), cos.data(), sin.data(), 1, 1, 4);
  EXPECT_EQ(x, (std::vector<float>{-2.0f, 5.0f, 1.0f, 7.0f}));
}

TEST(RefKernels, AttentionSingleVisibleKeyReturnsValue) {
  // 8 query heads on 2 KV heads, head_dim 3, 4 keys; window 1 leaves only key 3 for the query
  // at position 3, so every head must return its KV head's v[3] exactly.
  const int64_t n_heads = 8, n_kv_heads = 2, d = 3, n_kv = 4;
  const std::vector<float> q = RandomVector(n_heads * d, -1, 1, 1);
  const std::vector<float> k = RandomVector(n_kv * n_kv_heads * d, -1, 1, 2);
  const std::vector<float> v = RandomVector(n_kv * n_kv_heads * d, -1, 1, 3);
  std::vector<float> out(n_heads * d);
  ref::Attention(q.data(), k.data(), v.data(), out.data(), 1, n_kv, n_heads, n_kv_heads, d, 3,
                 /*window=*/1, 0.5f);
  for (int64_t h = 0; h < n_heads; ++h) {
    for (int64_t i = 0; i < d; ++i) {
      EXPECT_EQ(out[h * d + i], v[(3 * n_kv_heads + h / 4) * d + i]) << h << " " << i;
    }
  }
  // First token of a prefill sees only key 0.
  std::vector<float> out0(n_heads * d);
  ref::Attention(q.data(), k.data(), v.data(), out0.data(), 1, n_kv, n_heads, n_kv_heads, d, 0, 0,
                 0.5f);
  for (int64_t h = 0; h < n_heads; ++h) {
    for (int64_t i = 0; i < d; ++i) EXPECT_EQ(out0[h * d + i], v[(h / 4) * d + i]);
  }
}

TEST(RefKernels, AttentionCausalAndWindowMasks) {
  // q = 0 makes every visible key equally likely: out = mean of the visible values.
  const int64_t d = 2, n_kv = 4;
  const std::vector<float> q(n_kv * d, 0.0f);
  const std::vector<float> k = RandomVector(n_kv * d, -1, 1, 4);
  const std::vector<float> v = {1, 10, 2, 20, 4, 40, 8, 80};  // [4 keys, 1 head, 2]
  std::vector<float> out(n_kv * d);
  ref::Attention(q.data(), k.data(), v.data(), out.data(), n_kv, n_kv, 1, 1, d, 0, 0, 1.0f);
  EXPECT_EQ(out, (std::vector<float>{1, 10, 1.5f, 15, 7.0f / 3, 70.0f / 3, 3.75f, 37.5f}));
  // Window 2: position p sees keys p-1 and p.
  ref::Attention(q.data(), k.data(), v.data(), out.data(), n_kv, n_kv, 1, 1, d, 0, 2, 1.0f);
  EXPECT_EQ(out, (std::vector<float>{1, 10, 1.5f, 15, 3, 30, 6, 60}));
  // Decode at position 2 of 4 cached keys: key 3 is in the future and must be ignored.
  ref::Attention(q.data(), k.data(), v.data(), out.data(), 1, n_kv, 1, 1, d, 2, 0, 1.0f);
  EXPECT_FLOAT_EQ(out[0], 7.0f / 3);
  EXPECT_FLOAT_EQ(out[1], 70.0f / 3);
}

// ---------------------------------------------------------------------------------------------
// Dispatch.

TEST(Dispatch, ActiveIsaIsSupported) {
  EXPECT_TRUE(IsaSupported(DetectIsa()));
  EXPECT_TRUE(IsaSupported(ActiveIsa()));
  EXPECT_TRUE(IsaSupported(Isa::kScalar));
  EXPECT_EQ(IsaName(Isa::kScalar), "scalar");
  EXPECT_EQ(IsaName(Isa::kAvx2), "avx2");
  EXPECT_EQ(IsaName(Isa::kAvx512), "avx512");
  if (IsaSupported(Isa::kAvx512)) {
    EXPECT_TRUE(IsaSupported(Isa::kAvx2));
  }
  std::printf("detected ISA: %s, active: %s\n", std::string(IsaName(DetectIsa())).c_str(),
              std::string(IsaName(ActiveIsa())).c_str());
}

TEST(Dispatch, PublicKernelsMatchReference) {
  const int64_t m = 3, n = 19, k = 37;
  const std::vector<float> x = RandomVector(m * k, -1, 1, 5);
  const std::vector<float> w = RandomVector(n * k, -1, 1, 6);
  std::vector<float> got(m * n), want(m * n);
  MatMul(x.data(), w.data(), DType::kF32, nullptr, got.data(), m, n, k);
  ref::MatMul(x.data(), w.data(), DType::kF32, nullptr, want.data(), m, n, k);
  ExpectWithin(got, want, RelTol(want, 0, (k + 2) * kEps * k), "MatMul");
  std::vector<float> s = x;
  std::vector<float> s_ref = x;
  Softmax(s.data(), m, k);
  ref::Softmax(s_ref.data(), m, k);
  ExpectWithin(s, s_ref, RelTol(s_ref, (16 + k) * kEps, 1e-38), "Softmax");
}

// ---------------------------------------------------------------------------------------------
// Fast paths against the references, per ISA.

struct FastKernels {
  decltype(&ref::MatMul) mat_mul;
  decltype(&ref::RmsNorm) rms_norm;
  decltype(&ref::SiluMul) silu_mul;
  decltype(&ref::Silu) silu;
  decltype(&ref::GeluErf) gelu_erf;
  decltype(&ref::GeluTanh) gelu_tanh;
  decltype(&ref::Softmax) softmax;
  decltype(&ref::LogSoftmax) log_softmax;
  decltype(&ref::RopeNeox) rope_neox;
};

FastKernels KernelsFor(Isa isa) {
  if (isa == Isa::kAvx512Bf16) {  // avx512's kernels but MatMul
    FastKernels k = KernelsFor(Isa::kAvx512);
    k.mat_mul = avx512bf16::MatMul;
    return k;
  }
  if (isa == Isa::kAvx512) {
    return {avx512::MatMul,   avx512::RmsNorm, avx512::SiluMul,    avx512::Silu,    avx512::GeluErf,
            avx512::GeluTanh, avx512::Softmax, avx512::LogSoftmax, avx512::RopeNeox};
  }
  return {avx2::MatMul,   avx2::RmsNorm, avx2::SiluMul,    avx2::Silu,    avx2::GeluErf,
          avx2::GeluTanh, avx2::Softmax, avx2::LogSoftmax, avx2::RopeNeox};
}

class FastKernelTest : public ::testing::TestWithParam<Isa> {
 protected:
  void SetUp() override {
    if (!IsaSupported(GetParam())) {
      GTEST_SKIP() << "CPU lacks " << IsaName(GetParam());
    }
    k_ = KernelsFor(GetParam());
  }
  FastKernels k_{};
};

INSTANTIATE_TEST_SUITE_P(Isas, FastKernelTest,
                         ::testing::Values(Isa::kAvx2, Isa::kAvx512, Isa::kAvx512Bf16),
                         [](const ::testing::TestParamInfo<Isa>& info) {
                           return std::string(IsaName(info.param));
                         });

struct MatMulShape {
  int64_t m, n, k;
};

TEST_P(FastKernelTest, MatMul) {
  // m <= 32 widens weights in registers (several x tiles when m > 4), larger m goes through
  // the scratch path (n blocks of 64, k chunks of 512); n and k are odd so every tile shape and
  // masked tail is exercised.
  const std::vector<MatMulShape> shapes = {
      {1, 45, 67}, {3, 45, 67},  {8, 45, 67},     {33, 45, 67},   {1, 1, 1},
      {2, 7, 16},  {5, 130, 33}, {6, 70, 1100},   {17, 256, 512}, {4, 3, 5},
      {16, 9, 20}, {32, 19, 40}, {40, 130, 1100}, {1, 2048, 64},
  };
  uint32_t seed = 100;
  for (DType dt : {DType::kF32, DType::kF16, DType::kBF16}) {
    for (const MatMulShape& s : shapes) {
      for (bool with_bias : {false, true}) {
        SCOPED_TRACE(std::string(DTypeName(dt)) + " m=" + std::to_string(s.m) +
                     " n=" + std::to_string(s.n) + " k=" + std::to_string(s.k) +
                     (with_bias ? " bias" : ""));
        const std::vector<float> x0 = RandomVector(s.m * s.k, -1, 1, ++seed);
        const std::vector<uint8_t> w = EncodeWeights(RandomVector(s.n * s.k, -1, 1, ++seed), dt);
        // The fast path's own input (x0 rounded, at avx512bf16) goes to the reference.
        const std::vector<float> x = MatMulActivations(GetParam(), dt, x0, s.m, s.k);
        const std::vector<float> bias = RandomVector(s.n, -1, 1, ++seed);
        const float* b = with_bias ? bias.data() : nullptr;
        std::vector<float> got(s.m * s.n, std::numeric_limits<float>::quiet_NaN());
        std::vector<float> want(s.m * s.n);
        k_.mat_mul(x0.data(), w.data(), dt, b, got.data(), s.m, s.n, s.k);
        ref::MatMul(x.data(), w.data(), dt, b, want.data(), s.m, s.n, s.k);
        std::vector<double> tol(got.size());
        for (int64_t i = 0; i < s.m; ++i) {
          for (int64_t j = 0; j < s.n; ++j) {
            double abs_sum = with_bias ? std::fabs(bias[j]) : 0.0;
            for (int64_t kk = 0; kk < s.k; ++kk) {
              abs_sum += std::fabs(x[i * s.k + kk] * DecodeWeight(w, dt, j * s.k + kk));
            }
            tol[i * s.n + j] = (s.k + 2) * kEps * abs_sum + 1e-30;
          }
        }
        ExpectWithin(got, want, tol, "MatMul");
      }
    }
  }
}

TEST_P(FastKernelTest, RmsNorm) {
  // Sum of squares of positive terms: relative error <= dim u; then sqrt, divide and two
  // multiplies, <= u each.
  for (int64_t dim : {1, 7, 45, 100, 4099}) {
    SCOPED_TRACE("dim=" + std::to_string(dim));
    const int64_t rows = 5;
    std::vector<float> x = RandomVector(rows * dim, -3, 3, 200 + dim);
    const std::vector<float> w = RandomVector(dim, 0.5f, 1.5f, 300 + dim);
    std::vector<float> want(x.size());
    ref::RmsNorm(x.data(), w.data(), want.data(), rows, dim, 1e-5f);
    std::vector<float> got(x.size());
    k_.rms_norm(x.data(), w.data(), got.data(), rows, dim, 1e-5f);
    ExpectWithin(got, want, RelTol(want, (dim + 8) * kEps, 1e-30), "RmsNorm");
    k_.rms_norm(x.data(), w.data(), x.data(), rows, dim, 1e-5f);  // in place
    ExpectWithin(x, want, RelTol(want, (dim + 8) * kEps, 1e-30), "RmsNorm in place");
  }
}

// Random values in [-10, 10] plus edge values, n not a multiple of any vector width.
std::vector<float> ActivationInputs() {
  std::vector<float> x = RandomVector(1000, -10, 10, 400);
  for (float e : {0.0f, -0.0f, 1e-7f, -1e-7f, 1e-30f, 0.5f, -0.5f, 3.0f, -3.0f, 20.0f, -20.0f,
                  50.0f, -50.0f, 87.0f, -87.0f, 100.0f, -100.0f}) {
    x.push_back(e);
  }
  return x;
}

TEST_P(FastKernelTest, SiluAndSiluMul) {
  // x / (1 + e^-x): exp (2 ulp; -x is exact), add, divide: <= ~5u; 16 eps leaves margin.
  const std::vector<float> in = ActivationInputs();
  const int64_t n = static_cast<int64_t>(in.size());
  std::vector<float> got = in;
  std::vector<float> want = in;
  k_.silu(got.data(), n);
  ref::Silu(want.data(), n);
  ExpectWithin(got, want, RelTol(want, 8 * kEps, 1e-37), "Silu");

  const std::vector<float> up = RandomVector(n, -2, 2, 401);
  std::vector<float> out(n);
  std::vector<float> out_ref(n);
  k_.silu_mul(in.data(), up.data(), out.data(), n);
  ref::SiluMul(in.data(), up.data(), out_ref.data(), n);
  ExpectWithin(out, out_ref, RelTol(out_ref, 8 * kEps, 1e-37), "SiluMul");
  std::vector<float> gate = in;  // out aliases gate
  k_.silu_mul(gate.data(), up.data(), gate.data(), n);
  ExpectWithin(gate, out_ref, RelTol(out_ref, 8 * kEps, 1e-37), "SiluMul aliased");

  // Large enough to take the parallel path.
  const std::vector<float> big = RandomVector(100003, -10, 10, 402);
  std::vector<float> big_got = big;
  std::vector<float> big_want = big;
  k_.silu(big_got.data(), static_cast<int64_t>(big.size()));
  ref::Silu(big_want.data(), static_cast<int64_t>(big.size()));
  ExpectWithin(big_got, big_want, RelTol(big_want, 8 * kEps, 1e-37), "Silu parallel");
}

TEST_P(FastKernelTest, GeluErf) {
  // Relative: 0.5 x (1 + e) with e's ulps against |1 + e| <= 2: 8 eps. Absolute: erf's few-ulp
  // error (c u with c <= 8 here) scaled by 0.5 |x|, which dominates where 1 + erf cancels.
  const std::vector<float> in = ActivationInputs();
  std::vector<float> got = in;
  std::vector<float> want = in;
  k_.gelu_erf(got.data(), static_cast<int64_t>(got.size()));
  ref::GeluErf(want.data(), static_cast<int64_t>(want.size()));
  std::vector<double> tol(in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    tol[i] = 8 * kEps * std::fabs(want[i]) + 4 * kEps * std::fabs(in[i]) + 1e-37;
  }
  ExpectWithin(got, want, tol, "GeluErf");
  // Against the std::erf formula directly, as torch evaluates it in f32.
  std::vector<float> formula(in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    formula[i] = 0.5f * in[i] * (1.0f + std::erf(in[i] * static_cast<float>(M_SQRT1_2)));
  }
  ExpectWithin(got, formula, tol, "GeluErf vs std::erf");
}

TEST_P(FastKernelTest, GeluTanh) {
  // x / (1 + e^a), a = -2 sqrt(2/pi) (x + 0.044715 x^3) rounded in ~4 ops: |a| * 4u absolute on
  // the argument -> relative 2 eps |a| on e^a and at most that on the result, plus ~5u of exp,
  // add and divide.
  const std::vector<float> in = ActivationInputs();
  std::vector<float> got = in;
  std::vector<float> want = in;
  k_.gelu_tanh(got.data(), static_cast<int64_t>(got.size()));
  ref::GeluTanh(want.data(), static_cast<int64_t>(want.size()));
  std::vector<double> tol(in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    const double x = in[i];
    const double a = 2 * std::sqrt(2 / M_PI) * std::fabs(x + 0.044715 * x * x * x);
    tol[i] = (8 + 2 * a) * kEps * std::fabs(want[i]) + 1e-37;
  }
  ExpectWithin(got, want, tol, "GeluTanh");
  // Against the std::tanh formula in f32, which itself loses ~|x| u to 1 + tanh cancelling.
  std::vector<float> formula(in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    const float x = in[i];
    const float u = std::sqrt(2.0f / static_cast<float>(M_PI)) * (x + 0.044715f * x * x * x);
    formula[i] = 0.5f * x * (1.0f + std::tanh(u));
    tol[i] += 4 * kEps * std::fabs(x);
  }
  ExpectWithin(got, formula, tol, "GeluTanh vs std::tanh");
}

// Softmax rows: x_i - max rounds with error |x_i - max| u (exact when both are close, Sterbenz),
// which exp turns into relative error; exp itself 2 ulp; the sum of `cols` positive terms
// cols * u relative; the final scale 1 u.
std::vector<double> SoftmaxTol(const std::vector<float>& in, const std::vector<float>& want,
                               int64_t rows, int64_t cols) {
  std::vector<double> tol(in.size());
  for (int64_t r = 0; r < rows; ++r) {
    float max = -INFINITY;
    for (int64_t c = 0; c < cols; ++c) max = std::fmax(max, in[r * cols + c]);
    for (int64_t c = 0; c < cols; ++c) {
      const size_t i = r * cols + c;
      tol[i] = (8 + cols + std::fabs(in[i] - max)) * kEps * std::fabs(want[i]) + 1e-38;
    }
  }
  return tol;
}

struct SoftmaxCase {
  int64_t rows, cols;
  float lo, hi;  // uniform input range
};

TEST_P(FastKernelTest, SoftmaxAndLogSoftmax) {
  const std::vector<SoftmaxCase> cases = {
      {3, 1, -1, 1},
      {4, 7, -5, 5},
      {5, 1000, -10, 10},
      {2, 33, 1e4f, 1.001e4f},  // large magnitude: naive exp overflows
      {2, 33, -1e4f, -0.999e4f},
      {3, 100, -80, 80},  // most terms underflow relative to the max
      {40, 3000, -5, 5},  // parallel path
  };
  uint32_t seed = 500;
  for (const SoftmaxCase& c : cases) {
    SCOPED_TRACE("rows=" + std::to_string(c.rows) + " cols=" + std::to_string(c.cols) + " range=[" +
                 std::to_string(c.lo) + "," + std::to_string(c.hi) + "]");
    const std::vector<float> in = RandomVector(c.rows * c.cols, c.lo, c.hi, ++seed);
    std::vector<float> got = in;
    std::vector<float> want = in;
    k_.softmax(got.data(), c.rows, c.cols);
    ref::Softmax(want.data(), c.rows, c.cols);
    ExpectWithin(got, want, SoftmaxTol(in, want, c.rows, c.cols), "Softmax");
    for (int64_t r = 0; r < c.rows; ++r) {
      double sum = 0;
      for (int64_t j = 0; j < c.cols; ++j) sum += got[r * c.cols + j];
      EXPECT_NEAR(sum, 1.0, (c.cols + 8) * kEps) << "row " << r;
    }

    // log_softmax = x - max - log(sum): absolute error ~ (|x| + |max| + log terms) u.
    std::vector<float> log_got(in.size());
    std::vector<float> log_want(in.size());
    k_.log_softmax(in.data(), log_got.data(), c.rows, c.cols);
    ref::LogSoftmax(in.data(), log_want.data(), c.rows, c.cols);
    std::vector<double> tol(in.size());
    const double max_abs = std::max(std::fabs(c.lo), std::fabs(c.hi));
    for (size_t i = 0; i < in.size(); ++i) {
      tol[i] = (2 * max_abs + std::fabs(log_want[i]) + c.cols + 8) * kEps;
    }
    ExpectWithin(log_got, log_want, tol, "LogSoftmax");
    std::vector<float> aliased = in;
    k_.log_softmax(aliased.data(), aliased.data(), c.rows, c.cols);
    ExpectWithin(aliased, log_want, tol, "LogSoftmax aliased");
  }
}

TEST_P(FastKernelTest, RopeNeox) {
  // Each output is a c - b s: <= 2u (|a c| + |b s|) <= 2 eps (|a| + |b|) with |c|, |s| <= 1.
  for (int64_t head_dim : {64, 40, 18, 2}) {
    SCOPED_TRACE("head_dim=" + std::to_string(head_dim));
    const int64_t n_tokens = 5, n_heads = 3, half = head_dim / 2;
    const std::vector<float> in = RandomVector(n_tokens * n_heads * head_dim, -2, 2, 600);
    std::vector<float> cos(n_tokens * half), sin(n_tokens * half);
    for (int64_t t = 0; t < n_tokens; ++t) {
      for (int64_t d = 0; d < half; ++d) {
        const double angle = (t + 7) * std::pow(10000.0, -2.0 * d / head_dim);
        cos[t * half + d] = static_cast<float>(std::cos(angle));
        sin[t * half + d] = static_cast<float>(std::sin(angle));
      }
    }
    std::vector<float> got = in;
    std::vector<float> want = in;
    k_.rope_neox(got.data(), cos.data(), sin.data(), n_tokens, n_heads, head_dim);
    ref::RopeNeox(want.data(), cos.data(), sin.data(), n_tokens, n_heads, head_dim);
    std::vector<double> tol(in.size());
    for (size_t i = 0; i < in.size(); ++i) {
      const size_t head = i / head_dim;
      const size_t d = i % head_dim % half;
      tol[i] =
          2 * kEps *
              (std::fabs(in[head * head_dim + d]) + std::fabs(in[head * head_dim + d + half])) +
          1e-30;
    }
    ExpectWithin(got, want, tol, "RopeNeox");
  }
}

// The matmuls' split of weight panels among threads (panel_tiles.h), over two weights as in
// MatMuls: when one thread stalls, the other takes the panels left in its run, and still every
// (weight, panel, tile) runs exactly once.
TEST(PanelSplit, EveryTileRunsOnceWhenAThreadStalls) {
  constexpr int64_t kPanels = 97, m = 20, k = 4096;  // tiles of 16 and 4 rows; above the threshold
  const MatMulOut outs[2] = {{nullptr, DType::kQ4_0x16, nullptr, nullptr, 60 * 16},
                             {nullptr, DType::kQ4_0x16, nullptr, nullptr, 37 * 16}};
  std::vector<std::atomic<int>> runs(kPanels * 2);
  std::vector<int> runner(kPanels, -1);
  std::atomic<bool> stalled{false};
  const int saved_threads = omp_get_max_threads();
  omp_set_num_threads(2);
  avx512bf16::ForEachPanelTile<16>(
      m, outs, k, [&](auto rows, const MatMulOut& o, int64_t p, int64_t i0) {
        EXPECT_EQ(rows.value, i0 == 0 ? 16 : 4);
        ASSERT_LT(p, o.n / 16);
        const int64_t panel = (&o == &outs[0] ? 0 : 60) + p;
        ++runs[panel * 2 + i0 / 16];
        const int me = omp_get_thread_num();
        runner[panel] = me;  // both tiles of a panel run on one thread
        // Thread 0 stalls on its first tile for as long as thread 1 needs for all the panels.
        const auto work = me == 0 && !stalled.exchange(true) ? std::chrono::milliseconds(100)
                                                             : std::chrono::milliseconds(0);
        const auto until = std::chrono::steady_clock::now() + work + std::chrono::microseconds(20);
        while (std::chrono::steady_clock::now() < until) {
        }
      });
  omp_set_num_threads(saved_threads);
  for (int64_t i = 0; i < kPanels * 2; ++i) EXPECT_EQ(runs[i].load(), 1) << "tile " << i;
  // Thread 0 owned panels 0 .. 47; thread 1 took those thread 0 had not yet taken.
  EXPECT_LT(std::count(runner.begin(), runner.end(), 0), kPanels / 2);
}

}  // namespace
}  // namespace loom::kernels
