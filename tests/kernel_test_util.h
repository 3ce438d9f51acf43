// Random inputs and tolerance checks shared by the kernel tests.
#pragma once

#include <gtest/gtest.h>

#include <cfloat>
#include <cmath>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "core/dtype.h"
#include "kernels/dispatch.h"
#include "kernels/ref/quant.h"

namespace loom::kernels {

constexpr double kEps = FLT_EPSILON;  // 2u

inline std::vector<float> RandomVector(int64_t n, float lo, float hi, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(lo, hi);
  std::vector<float> v(n);
  for (float& x : v) x = dist(rng);
  return v;
}

// Checks |got[i] - want[i]| <= tol[i] for all i; reports the count and the worst offender.
inline void ExpectWithin(const std::vector<float>& got, const std::vector<float>& want,
                         const std::vector<double>& tol, const std::string& what) {
  ASSERT_EQ(got.size(), want.size()) << what;
  ASSERT_EQ(got.size(), tol.size()) << what;
  int64_t bad = 0;
  int64_t worst = -1;
  double worst_ratio = 0.0;
  for (size_t i = 0; i < got.size(); ++i) {
    const double err = std::fabs(static_cast<double>(got[i]) - want[i]);
    const double ratio = err / tol[i];
    if (!(err <= tol[i])) ++bad;  // also catches NaN
    if (!(ratio <= worst_ratio)) {
      worst_ratio = ratio;
      worst = static_cast<int64_t>(i);
    }
  }
  EXPECT_EQ(bad, 0) << what << ": worst at " << worst << " got " << got[worst] << " want "
                    << want[worst] << " tol " << tol[worst] << " (err/tol " << worst_ratio << ")";
}

// The activations MatMul at `isa` multiplies `w` weights by (x [m, k]): x itself, except at
// Isa::kAvx512Bf16, which rounds them as llama.cpp does: to bf16 for bf16 weights, through Q8_0
// (ref::Quantize then Dequantize, per row) for Q8_0, Q4_0 and Q6_K weights.
inline std::vector<float> MatMulActivations(Isa isa, DType w, const std::vector<float>& x,
                                            int64_t m, int64_t k) {
  std::vector<float> r = x;
  if (isa != Isa::kAvx512Bf16) return r;
  if (w == DType::kBF16) {
    for (float& v : r) v = BF16ToF32(F32ToBF16(v));
  } else if (w == DType::kQ8_0 || w == DType::kQ4_0 || w == DType::kQ6_K) {
    std::vector<uint8_t> q(static_cast<size_t>(RowBytes(DType::kQ8_0, k)));
    for (int64_t i = 0; i < m; ++i) {
      ref::Quantize(x.data() + i * k, DType::kQ8_0, q.data(), k);
      ref::Dequantize(q.data(), DType::kQ8_0, r.data() + i * k, k);
    }
  }
  return r;
}

}  // namespace loom::kernels
