#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "kernels/ref/ref.h"

namespace loom::kernels::ref {

void Attention(const float* q, const float* k, const float* v, float* out, int64_t n_q,
               int64_t n_kv, int64_t n_heads, int64_t n_kv_heads, int64_t head_dim, int64_t q_pos0,
               int64_t window, float scale) {
  const int64_t group = n_heads / n_kv_heads;
  std::vector<double> scores(n_kv);  // [n_kv], -inf where masked
  std::vector<double> acc(head_dim);
  for (int64_t i = 0; i < n_q; ++i) {
    const int64_t p = q_pos0 + i;
    for (int64_t h = 0; h < n_heads; ++h) {
      const float* qh = q + (i * n_heads + h) * head_dim;
      const int64_t kvh = h / group;
      double max = -std::numeric_limits<double>::infinity();
      for (int64_t j = 0; j < n_kv; ++j) {
        const bool visible = j <= p && (window <= 0 || p - j < window);
        if (!visible) {
          scores[j] = -std::numeric_limits<double>::infinity();
          continue;
        }
        const float* kj = k + (j * n_kv_heads + kvh) * head_dim;
        double dot = 0.0;
        for (int64_t d = 0; d < head_dim; ++d) dot += static_cast<double>(qh[d]) * kj[d];
        scores[j] = dot * scale;
        max = std::fmax(max, scores[j]);
      }
      double sum = 0.0;
      for (int64_t j = 0; j < n_kv; ++j) {
        scores[j] = std::exp(scores[j] - max);  // exp(-inf) = 0 for masked keys
        sum += scores[j];
      }
      std::fill(acc.begin(), acc.end(), 0.0);
      for (int64_t j = 0; j < n_kv; ++j) {
        if (scores[j] == 0.0) continue;
        const float* vj = v + (j * n_kv_heads + kvh) * head_dim;
        for (int64_t d = 0; d < head_dim; ++d) acc[d] += scores[j] * vj[d];
      }
      float* oh = out + (i * n_heads + h) * head_dim;
      for (int64_t d = 0; d < head_dim; ++d) oh[d] = static_cast<float>(acc[d] / sum);
    }
  }
}

}  // namespace loom::kernels::ref
