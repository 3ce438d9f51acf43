// A dense layer in HF layout: y[m, out] = x[m, in] · weight[out, in]^T + bias[out].
#pragma once

#include <string>

#include "kernels/kernels.h"
#include "models/weights.h"

namespace loom {

struct Linear {
  Tensor weight;  // f32/f16/bf16 [out, in], usually a zero-copy view of the checkpoint
  Tensor bias;    // f32 [out], or undefined
  int64_t in = 0;
  int64_t out = 0;

  // Loads `prefix`.weight (and `prefix`.bias when has_bias).
  static Result<Linear> Load(const WeightLoader& w, const std::string& prefix, int64_t in,
                             int64_t out, bool has_bias) {
    Linear l;
    l.in = in;
    l.out = out;
    LOOM_ASSIGN_OR_RETURN(l.weight, w.Get(prefix + ".weight", {out, in}));
    if (has_bias) {
      LOOM_ASSIGN_OR_RETURN(l.bias, w.GetF32(prefix + ".bias", {out}));
    }
    return l;
  }

  // x f32 [m, in] -> y f32 [m, out]
  void Forward(const float* x, float* y, int64_t m) const {
    kernels::MatMul(x, weight.raw(), weight.dtype(), bias.defined() ? bias.data<float>() : nullptr,
                    y, m, out, in);
  }
};

}  // namespace loom
