// Row norms, activations, softmax and rotary embedding.
#include <cmath>
#include <limits>

#include "kernels/ref/ref.h"

namespace loom::kernels::ref {

void RmsNorm(const float* x, const float* weight, float* y, int64_t rows, int64_t dim, float eps) {
  for (int64_t r = 0; r < rows; ++r) {
    const float* xr = x + r * dim;
    float* yr = y + r * dim;
    double sum_sq = 0.0;
    for (int64_t i = 0; i < dim; ++i) sum_sq += static_cast<double>(xr[i]) * xr[i];
    const double inv_rms = 1.0 / std::sqrt(sum_sq / static_cast<double>(dim) + eps);
    for (int64_t i = 0; i < dim; ++i) yr[i] = static_cast<float>(xr[i] * inv_rms * weight[i]);
  }
}

namespace {

double SiluD(double x) { return x / (1.0 + std::exp(-x)); }

}  // namespace

void SiluMul(const float* gate, const float* up, float* out, int64_t n) {
  for (int64_t i = 0; i < n; ++i) out[i] = static_cast<float>(SiluD(gate[i]) * up[i]);
}

void Silu(float* x, int64_t n) {
  for (int64_t i = 0; i < n; ++i) x[i] = static_cast<float>(SiluD(x[i]));
}

// The gelus are evaluated in forms equal to their definitions that do not cancel for negative
// x (where 1 + erf and 1 + tanh approach 0 and even double loses every digit):
//   1 + erf(z) = erfc(-z),   1 + tanh(u) = 2 / (1 + e^(-2u)).
void GeluErf(float* x, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    const double v = x[i];
    x[i] = static_cast<float>(0.5 * v * std::erfc(-v / std::sqrt(2.0)));  // 0.5 v (1 + erf(v/√2))
  }
}

void GeluTanh(float* x, int64_t n) {
  const double c = std::sqrt(2.0 / M_PI);
  for (int64_t i = 0; i < n; ++i) {
    const double v = x[i];
    const double u = c * (v + 0.044715 * v * v * v);
    x[i] = static_cast<float>(v / (1.0 + std::exp(-2.0 * u)));  // 0.5 v (1 + tanh(u))
  }
}

void Softmax(float* x, int64_t rows, int64_t cols) {
  for (int64_t r = 0; r < rows; ++r) {
    float* xr = x + r * cols;
    double max = -std::numeric_limits<double>::infinity();
    for (int64_t c = 0; c < cols; ++c) max = std::fmax(max, xr[c]);
    double sum = 0.0;
    for (int64_t c = 0; c < cols; ++c) sum += std::exp(xr[c] - max);
    for (int64_t c = 0; c < cols; ++c) xr[c] = static_cast<float>(std::exp(xr[c] - max) / sum);
  }
}

void LogSoftmax(const float* x, float* y, int64_t rows, int64_t cols) {
  for (int64_t r = 0; r < rows; ++r) {
    const float* xr = x + r * cols;
    float* yr = y + r * cols;
    double max = -std::numeric_limits<double>::infinity();
    for (int64_t c = 0; c < cols; ++c) max = std::fmax(max, xr[c]);
    double sum = 0.0;
    for (int64_t c = 0; c < cols; ++c) sum += std::exp(xr[c] - max);
    const double log_z = max + std::log(sum);
    for (int64_t c = 0; c < cols; ++c) yr[c] = static_cast<float>(xr[c] - log_z);
  }
}

void RopeNeox(float* x, const float* cos, const float* sin, int64_t n_tokens, int64_t n_heads,
              int64_t head_dim) {
  const int64_t half = head_dim / 2;
  for (int64_t t = 0; t < n_tokens; ++t) {
    const float* c = cos + t * half;
    const float* s = sin + t * half;
    for (int64_t h = 0; h < n_heads; ++h) {
      float* xh = x + (t * n_heads + h) * head_dim;
      for (int64_t d = 0; d < half; ++d) {
        const double x0 = xh[d];
        const double x1 = xh[d + half];
        xh[d] = static_cast<float>(x0 * c[d] - x1 * s[d]);
        xh[d + half] = static_cast<float>(x1 * c[d] + x0 * s[d]);
      }
    }
  }
}

}  // namespace loom::kernels::ref
