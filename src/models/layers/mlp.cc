#include "models/layers/mlp.h"

#include "models/layers/step_buffers.h"

namespace loom {

Result<GatedMlp> GatedMlp::Load(const WeightLoader& w, const std::string& prefix, int64_t hidden,
                                int64_t intermediate, bool bias) {
  GatedMlp m;
  LOOM_ASSIGN_OR_RETURN(m.gate_,
                        Linear::Load(w, prefix + ".gate_proj", hidden, intermediate, bias));
  LOOM_ASSIGN_OR_RETURN(m.up_, Linear::Load(w, prefix + ".up_proj", hidden, intermediate, bias));
  LOOM_ASSIGN_OR_RETURN(m.down_,
                        Linear::Load(w, prefix + ".down_proj", intermediate, hidden, bias));
  return m;
}

void GatedMlp::Forward(const float* x, float* out, int64_t n) const {
  const int64_t inter = gate_.out;
  float* gate = StepBufferOf(StepBuffer::kGate, n * inter);  // f32 [n, intermediate]
  float* up = StepBufferOf(StepBuffer::kUp, n * inter);      // f32 [n, intermediate]
  Linear::ForwardShared<2>(x, n, {&gate_, &up_}, {gate, up});
  kernels::SiluMul(gate, up, gate, n * inter);
  down_.Forward(gate, out, n);
}

}  // namespace loom
