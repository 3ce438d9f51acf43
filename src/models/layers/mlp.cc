#include "models/layers/mlp.h"

#include <vector>

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
  std::vector<float> gate(n * inter), up(n * inter);  // f32 [n, intermediate]
  gate_.Forward(x, gate.data(), n);
  up_.Forward(x, up.data(), n);
  kernels::SiluMul(gate.data(), up.data(), gate.data(), n * inter);
  down_.Forward(gate.data(), out, n);
}

}  // namespace loom
