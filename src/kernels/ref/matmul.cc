#include <vector>

#include "kernels/ref/quant.h"
#include "kernels/ref/ref.h"

namespace loom::kernels::ref {
namespace {

// Element `i` of a float-typed weight buffer in `dtype`, widened to f32 (exact for f16 and bf16).
float WeightAt(const void* w, DType dtype, int64_t i) {
  switch (dtype) {
    case DType::kF32:
      return static_cast<const float*>(w)[i];
    case DType::kF16:
      return F16ToF32(static_cast<const uint16_t*>(w)[i]);
    case DType::kBF16:
      return BF16ToF32(static_cast<const uint16_t*>(w)[i]);
    default:
      return 0.0f;  // block-quantized: see MatMulQuantized
  }
}

// Block-quantized w: each row is dequantized (exactly, as ggml) once, then dotted in double.
void MatMulQuantized(const float* x, const void* w, DType w_dtype, const float* bias, float* y,
                     int64_t m, int64_t n, int64_t k) {
  std::vector<float> row(static_cast<size_t>(k));  // f32 [k]: w row j
  const int64_t row_bytes = RowBytes(w_dtype, k);
  for (int64_t j = 0; j < n; ++j) {
    Dequantize(static_cast<const uint8_t*>(w) + j * row_bytes, w_dtype, row.data(), k);
    for (int64_t i = 0; i < m; ++i) {
      double sum = bias ? bias[j] : 0.0;
      for (int64_t kk = 0; kk < k; ++kk) sum += static_cast<double>(x[i * k + kk]) * row[kk];
      y[i * n + j] = static_cast<float>(sum);
    }
  }
}

}  // namespace

void MatMul(const float* x, const void* w, DType w_dtype, const float* bias, float* y, int64_t m,
            int64_t n, int64_t k) {
  if (IsQuantized(w_dtype)) return MatMulQuantized(x, w, w_dtype, bias, y, m, n, k);
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
