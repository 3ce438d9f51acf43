// Rotary position embedding tables as HF `modeling_rope_utils.py` defines them: default, linear,
// dynamic (NTK), llama3 and yarn. The kernel (kernels::RopeNeox) applies the tables.
#pragma once

#include <span>
#include <vector>

#include "loader/hf_config.h"

namespace loom {

class Rope {
 public:
  // `dim` is the rotary dimension (head_dim for the Llama family).
  Rope(const ModelConfig& config, int64_t dim);

  // cos, sin f32 [positions.size(), dim/2] for `positions`, already multiplied by the attention
  // factor (yarn). `seq_len` is the length of the sequence after this step (max position + 1):
  // dynamic NTK re-derives its base from it as HF does, everything else ignores it.
  void Tables(std::span<const int64_t> positions, int64_t seq_len, float* cos, float* sin) const;

  const std::vector<float>& inv_freq() const { return inv_freq_; }
  float attention_factor() const { return attention_factor_; }

 private:
  std::vector<float> InvFreq(double base) const;

  RopeScaling scaling_;
  int64_t dim_;
  double theta_;
  int64_t max_position_embeddings_;
  std::vector<float> inv_freq_;  // [dim/2], f32 as torch computes it
  float attention_factor_ = 1.0f;
};

}  // namespace loom
