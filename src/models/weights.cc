#include "models/weights.h"

namespace loom {

Result<Tensor> WeightLoader::Get(const std::string& name, const Shape& shape) const {
  LOOM_ASSIGN_OR_RETURN(Tensor t, store_.Get(name));
  if (t.shape() != shape) {
    return InvalidArgument("{}: tensor '{}' has shape {}, expected {}", store_.FileOf(name), name,
                           ShapeString(t.shape()), ShapeString(shape));
  }
  return t;
}

Result<Tensor> WeightLoader::GetF32(const std::string& name, const Shape& shape) const {
  LOOM_ASSIGN_OR_RETURN(Tensor t, Get(name, shape));
  return t.ToF32();
}

}  // namespace loom
