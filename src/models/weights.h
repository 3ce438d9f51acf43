// Fetches checkpoint tensors with the shapes a model expects; every mismatch is an error naming
// the file and the tensor.
#pragma once

#include <string>

#include "core/status.h"
#include "core/tensor.h"
#include "loader/safetensors.h"

namespace loom {

class WeightLoader {
 public:
  explicit WeightLoader(const WeightStore& store) : store_(store) {}

  // A weight used in place (f32, f16 or bf16) with exactly `shape`.
  Result<Tensor> Get(const std::string& name, const Shape& shape) const;
  // A small weight (norm scale, bias) converted to f32, with exactly `shape`.
  Result<Tensor> GetF32(const std::string& name, const Shape& shape) const;
  bool Contains(const std::string& name) const { return store_.Contains(name); }

 private:
  const WeightStore& store_;
};

}  // namespace loom
