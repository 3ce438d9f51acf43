// Fetches checkpoint tensors with the shapes a model expects; every mismatch is an error naming
// the file and the tensor.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "core/status.h"
#include "core/tensor.h"
#include "kernels/kernels.h"
#include "loader/hf_config.h"
#include "loader/safetensors.h"

namespace loom {

struct LoadOptions {
  // --quantization: Linear weights block-quantized at load (q8_0, q4_0 or q4_k), or as stored.
  std::optional<DType> quantization;
  // --dtype: what Linear layers multiply their weights by (kernels::Activations): kLikeWeights
  // ("auto", llama.cpp's and vLLM's choice) or kF32 ("float32", the reference semantics).
  kernels::Activations activations = kernels::Activations::kLikeWeights;
};

// A Linear layer's weight as the MatMul kernels take it.
struct LinearWeight {
  Tensor weight;  // [out, in], any DType
  // int32 [in], or empty for the identity: weight column j multiplies input column input_perm[j]
  // (GPTQ act-order checkpoints, whose groups are scattered over the input columns).
  std::vector<int32_t> input_perm;
};

class WeightLoader {
 public:
  // `quantization`: the checkpoint's GPTQ / AWQ quantization_config, if any.
  WeightLoader(const WeightStore& store, const LoadOptions& options,
               std::optional<CheckpointQuantization> quantization = std::nullopt)
      : store_(store), options_(options), quantization_(std::move(quantization)) {}

  // A weight used in place (f32, f16 or bf16) with exactly `shape`.
  Result<Tensor> Get(const std::string& name, const Shape& shape) const;
  // A small weight (norm scale, bias) converted to f32, with exactly `shape`.
  Result<Tensor> GetF32(const std::string& name, const Shape& shape) const;
  // A Linear layer's weight [out, in]: as stored, or block-quantized per LoadOptions (a copy;
  // `in` must be a multiple of the block).
  Result<Tensor> GetLinear(const std::string& name, const Shape& shape) const;
  // The weight of Linear module `prefix` [out, in]: `prefix`.weight as GetLinear, or in a GPTQ /
  // AWQ checkpoint `prefix`.qweight (+ qzeros, scales, g_idx) repacked exactly (models/gptq_awq.h);
  // then in the layout MatMul reads fastest (kernels::PreferredWeightLayout), a copy if that
  // differs.
  Result<LinearWeight> GetLinearWeight(const std::string& prefix, int64_t out, int64_t in) const;
  bool Contains(const std::string& name) const { return store_.Contains(name); }
  const LoadOptions& options() const { return options_; }

 private:
  LinearWeight Rearranged(LinearWeight lw) const;

  const WeightStore& store_;
  LoadOptions options_;
  std::optional<CheckpointQuantization> quantization_;
};

}  // namespace loom
