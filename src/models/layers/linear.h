// A dense layer in HF layout: y[m, out] = x[m, in] · weight[out, in]^T + bias[out].
#pragma once

#include <array>
#include <string>
#include <vector>

#include "kernels/kernels.h"
#include "models/layers/step_buffers.h"
#include "models/weights.h"

namespace loom {

struct Linear {
  Tensor weight;  // [out, in] in any DType (block-quantized too), usually a view of the checkpoint
  Tensor bias;    // f32 [out], or undefined
  // int32 [in], or empty: weight column j multiplies x column input_perm[j] (GPTQ act-order)
  std::vector<int32_t> input_perm;
  int64_t in = 0;
  int64_t out = 0;
  kernels::Activations activations = kernels::Activations::kF32;  // LoadOptions::activations

  // Loads `prefix`.weight, or a GPTQ / AWQ `prefix`.qweight ... (and `prefix`.bias when has_bias).
  static Result<Linear> Load(const WeightLoader& w, const std::string& prefix, int64_t in,
                             int64_t out, bool has_bias) {
    Linear l;
    l.in = in;
    l.out = out;
    l.activations = w.options().activations;
    LOOM_ASSIGN_OR_RETURN(LinearWeight lw, w.GetLinearWeight(prefix, out, in));
    l.weight = std::move(lw.weight);
    l.input_perm = std::move(lw.input_perm);
    if (has_bias) {
      LOOM_ASSIGN_OR_RETURN(l.bias, w.GetF32(prefix + ".bias", {out}));
    }
    return l;
  }

  // Bytes of the weight matrix as stored (0 when undefined).
  int64_t WeightBytes() const {
    return weight.defined() ? static_cast<int64_t>(weight.nbytes()) : 0;
  }

  // x f32 [m, in] -> y f32 [m, out]
  void Forward(const float* x, float* y, int64_t m) const {
    if (!input_perm.empty()) {
      // f32 [m, in]: x in the weight's column order
      float* gathered = StepBufferOf(StepBuffer::kGathered, m * in);
      for (int64_t r = 0; r < m; ++r) {
        for (int64_t j = 0; j < in; ++j) gathered[r * in + j] = x[r * in + input_perm[j]];
      }
      x = gathered;
    }
    kernels::MatMul(x, weight.raw(), weight.dtype(), bias.defined() ? bias.data<float>() : nullptr,
                    y, m, out, in, activations);
  }

  // Forward of N layers on the same x (q, k, v; gate, up) into ys: x is read and rounded once
  // and the threads split all N weights in one region (kernels::MatMuls).
  template <size_t N>
  static void ForwardShared(const float* x, int64_t m, const std::array<const Linear*, N>& layers,
                            const std::array<float*, N>& ys) {
    std::array<kernels::MatMulOut, N> outs;
    for (size_t i = 0; i < N; ++i) {
      const Linear& l = *layers[i];
      if (!l.input_perm.empty()) {  // each reads x in its own column order
        for (size_t j = 0; j < N; ++j) layers[j]->Forward(x, ys[j], m);
        return;
      }
      outs[i] = {l.weight.raw(), l.weight.dtype(),
                 l.bias.defined() ? l.bias.data<float>() : nullptr, ys[i], l.out};
    }
    kernels::MatMuls(x, outs, m, layers[0]->in, layers[0]->activations);
  }
};

}  // namespace loom
