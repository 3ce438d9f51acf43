// The Llama family's feed-forward block.
#pragma once

#include "models/layers/linear.h"

namespace loom {

// SiLU-gated MLP: down(silu(gate(x)) * up(x)).
class GatedMlp {
 public:
  static Result<GatedMlp> Load(const WeightLoader& w, const std::string& prefix, int64_t hidden,
                               int64_t intermediate, bool bias);
  // x f32 [n, hidden] -> out f32 [n, hidden]
  void Forward(const float* x, float* out, int64_t n) const;
  // Bytes of the gate/up/down weight matrices.
  int64_t WeightBytes() const {
    return gate_.WeightBytes() + up_.WeightBytes() + down_.WeightBytes();
  }

 private:
  Linear gate_, up_, down_;
};

}  // namespace loom
