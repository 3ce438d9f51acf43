#include "kernels/ref/ref.h"

namespace loom::kernels::ref {
namespace {

// Element `i` of a weight buffer in `dtype`, widened to f32 (exact for f16 and bf16).
float WeightAt(const void* w, DType dtype, int64_t i) {
  switch (dtype) {
    case DType::kF32:
      return static_cast<const float*>(w)[i];
    case DType::kF16:
      return F16ToF32(static_cast<const uint16_t*>(w)[i]);
    case DType::kBF16:
      return BF16ToF32(static_cast<const uint16_t*>(w)[i]);
  }
  return 0.0f;
}

}  // namespace

void MatMul(const float* x, const void* w, DType w_dtype, const float* bias, float* y, int64_t m,
            int64_t n, int64_t k) {
  for (int64_t i = 0; i < m; ++i) {
    for (int64_t j = 0; j < n; ++j) {
      double sum = bias ? bias[j] : 0.0;
      for (int64_t kk = 0; kk < k; ++kk) {
        sum += static_cast<double>(x[i * k + kk]) * WeightAt(w, w_dtype, j * k + kk);
      }
      y[i * n + j] = static_cast<float>(sum);
    }
  }
}

}  // namespace loom::kernels::ref
