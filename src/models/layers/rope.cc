#include "models/layers/rope.h"

#include <algorithm>
#include <cmath>

namespace loom {
namespace {

// yarn helpers, as in HF `_compute_yarn_parameters`.
double YarnMscale(double scale, double mscale) {
  return scale <= 1.0 ? 1.0 : 0.1 * mscale * std::log(scale) + 1.0;
}
double YarnCorrectionDim(double num_rotations, double dim, double base, double max_pos) {
  return (dim * std::log(max_pos / (num_rotations * 2.0 * M_PI))) / (2.0 * std::log(base));
}

}  // namespace

Rope::Rope(const ModelConfig& config, int64_t dim)
    : scaling_(config.rope_scaling),
      dim_(dim),
      theta_(config.rope_theta),
      max_position_embeddings_(config.max_position_embeddings) {
  inv_freq_ = InvFreq(theta_);
  const int64_t half = dim_ / 2;
  if (!scaling_.freq_factors.empty()) {  // checked to be [dim/2] by the GGUF loader
    for (int64_t i = 0; i < half; ++i) inv_freq_[i] /= scaling_.freq_factors[i];
  }
  const std::string& type = scaling_.type;
  const double factor = scaling_.factor;
  if (type == "linear") {
    for (float& f : inv_freq_) f = static_cast<float>(f / factor);
  } else if (type == "llama3") {
    const double old_ctx = static_cast<double>(scaling_.original_max_position_embeddings);
    const double low_wavelen = old_ctx / scaling_.low_freq_factor;
    const double high_wavelen = old_ctx / scaling_.high_freq_factor;
    for (float& f : inv_freq_) {
      const double wavelen = 2.0 * M_PI / f;
      if (wavelen > low_wavelen) {
        f = static_cast<float>(f / factor);
      } else if (wavelen >= high_wavelen) {  // medium band: smooth interpolation
        const double smooth = (old_ctx / wavelen - scaling_.low_freq_factor) /
                              (scaling_.high_freq_factor - scaling_.low_freq_factor);
        f = static_cast<float>((1.0 - smooth) * f / factor + smooth * f);
      }
    }
  } else if (type == "yarn") {
    const double orig = static_cast<double>(scaling_.original_max_position_embeddings);
    if (scaling_.attention_factor) {
      attention_factor_ = static_cast<float>(*scaling_.attention_factor);
    } else if (scaling_.mscale && scaling_.mscale_all_dim && *scaling_.mscale != 0 &&
               *scaling_.mscale_all_dim != 0) {
      attention_factor_ = static_cast<float>(YarnMscale(factor, *scaling_.mscale) /
                                             YarnMscale(factor, *scaling_.mscale_all_dim));
    } else {
      attention_factor_ = static_cast<float>(YarnMscale(factor, 1.0));
    }
    double low = YarnCorrectionDim(scaling_.beta_fast, dim_, theta_, orig);
    double high = YarnCorrectionDim(scaling_.beta_slow, dim_, theta_, orig);
    if (scaling_.truncate) {
      low = std::floor(low);
      high = std::ceil(high);
    }
    low = std::max(low, 0.0);
    high = std::min(high, static_cast<double>(dim_ - 1));
    if (low == high) high += 0.001;  // avoid a zero-width ramp
    for (int64_t i = 0; i < half; ++i) {
      // pos_freq = base^(2i/dim) in f32; extrapolation 1/pos_freq, interpolation 1/(factor
      // pos_freq)
      const float pos_freq = std::pow(static_cast<float>(theta_), static_cast<float>(2 * i) / dim_);
      const float extrapolation = 1.0f / pos_freq;
      const float interpolation = 1.0f / (static_cast<float>(factor) * pos_freq);
      const float ramp = static_cast<float>(std::clamp((i - low) / (high - low), 0.0, 1.0));
      const float extrapolation_factor = 1.0f - ramp;
      inv_freq_[i] =
          interpolation * (1.0f - extrapolation_factor) + extrapolation * extrapolation_factor;
    }
  }
}

std::vector<float> Rope::InvFreq(double base) const {
  // torch: 1 / (base ** (arange(0, dim, 2).float() / dim)), all f32.
  std::vector<float> f(dim_ / 2);
  for (int64_t i = 0; i < dim_ / 2; ++i) {
    const float exponent = static_cast<float>(2 * i) / static_cast<float>(dim_);
    f[i] = 1.0f / std::pow(static_cast<float>(base), exponent);
  }
  return f;
}

void Rope::Tables(std::span<const int64_t> positions, int64_t seq_len, float* cos,
                  float* sin) const {
  const int64_t half = dim_ / 2;
  std::vector<float> dynamic;
  const std::vector<float>* inv = &inv_freq_;
  if (scaling_.type == "dynamic" && seq_len > max_position_embeddings_) {
    const double factor = scaling_.factor;
    const double base =
        theta_ *
        std::pow(factor * static_cast<double>(seq_len) / max_position_embeddings_ - (factor - 1.0),
                 static_cast<double>(dim_) / (dim_ - 2));
    dynamic = InvFreq(base);
    inv = &dynamic;
  }
  for (size_t t = 0; t < positions.size(); ++t) {
    for (int64_t i = 0; i < half; ++i) {
      // torch forms the angle as an f32 product, then takes cos/sin of it.
      const float angle = static_cast<float>(positions[t]) * (*inv)[i];
      cos[t * half + i] = std::cos(angle) * attention_factor_;
      sin[t * half + i] = std::sin(angle) * attention_factor_;
    }
  }
}

}  // namespace loom
