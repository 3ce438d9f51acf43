#include "models/weights.h"

#include "core/logging.h"
#include "kernels/kernels.h"
#include "loader/mapped_file.h"
#include "models/gptq_awq.h"

namespace loom {

Result<Tensor> WeightLoader::Get(const std::string& name, const Shape& shape) const {
  LOOM_ASSIGN_OR_RETURN(Tensor t, store_.Get(name));
  if (t.dtype() == DType::kI32) {
    return InvalidArgument("{}: tensor '{}' is i32, expected a float tensor", store_.FileOf(name),
                           name);
  }
  if (t.shape() != shape) {
    return InvalidArgument("{}: tensor '{}' has shape {}, expected {}", store_.FileOf(name), name,
                           ShapeString(t.shape()), ShapeString(shape));
  }
  return t;
}

Result<Tensor> WeightLoader::GetLinear(const std::string& name, const Shape& shape) const {
  LOOM_ASSIGN_OR_RETURN(Tensor t, Get(name, shape));
  if (!options_.quantization || IsQuantized(t.dtype())) return t;
  DType q = *options_.quantization;
  const int64_t rows = shape[0], cols = shape[1];
  if (cols % DTypeBlockElems(q) != 0 && cols % DTypeBlockElems(DType::kQ8_0) == 0) {
    // As llama-quantize: rows that a 256-wide K block does not tile get a 32-wide type instead.
    LOOM_LOG_DEBUG("{}: {} columns, not a multiple of {}: {} instead of {}", name, cols,
                   DTypeBlockElems(q), DTypeName(DType::kQ8_0), DTypeName(q));
    q = DType::kQ8_0;
  }
  if (cols % DTypeBlockElems(q) != 0) {
    return InvalidArgument(
        "{}: cannot quantize '{}' to {}: its {} columns are not a multiple of {}",
        store_.FileOf(name), name, DTypeName(q), cols, DTypeBlockElems(q));
  }
  const Tensor f32 = t.ToF32();
  Tensor out = Tensor::Zeros(q, shape);
  for (int64_t r = 0; r < rows; ++r) {
    kernels::Quantize(f32.data<float>() + r * cols, q,
                      static_cast<char*>(out.raw()) + r * RowBytes(q, cols), cols);
  }
  return out;
}

Result<LinearWeight> WeightLoader::GetLinearWeight(const std::string& prefix, int64_t out,
                                                   int64_t in) const {
  if (IsPackedLinear(store_, prefix)) {
    if (!quantization_) {
      return InvalidArgument(
          "{}: tensor '{}.qweight' is packed, but config.json has no GPTQ / AWQ "
          "quantization_config",
          store_.FileOf(prefix + ".qweight"), prefix);
    }
    LOOM_ASSIGN_OR_RETURN(LinearWeight lw,
                          LoadPackedLinear(store_, prefix, out, in, *quantization_));
    return Rearranged(std::move(lw));
  }
  // Modules a quantized checkpoint leaves in floats (modules_to_not_convert, lm_head) load as
  // usual.
  LinearWeight lw;
  LOOM_ASSIGN_OR_RETURN(lw.weight, GetLinear(prefix + ".weight", {out, in}));
  return Rearranged(std::move(lw));
}

LinearWeight WeightLoader::Rearranged(LinearWeight lw) const {
  const Tensor& w = lw.weight;
  const int64_t out = w.dim(0), in = w.dim(1);
  const DType layout = kernels::PreferredWeightLayout(w.dtype(), out, in, options_.activations);
  if (layout == w.dtype()) return lw;
  // A copy in the layout the matmul reads fastest; the checkpoint's pages, read once here, leave
  // the resident set, so memory stays at one copy of the weights.
  Tensor packed = Tensor::HugePageZeros(layout, {out, in});
  kernels::RepackWeights(w.raw(), w.dtype(), layout, packed.raw(), out, in);
  ReleaseFilePages(w.raw(), w.nbytes());
  lw.weight = std::move(packed);
  return lw;
}

Result<Tensor> WeightLoader::GetF32(const std::string& name, const Shape& shape) const {
  LOOM_ASSIGN_OR_RETURN(Tensor t, Get(name, shape));
  return t.ToF32();
}

}  // namespace loom
