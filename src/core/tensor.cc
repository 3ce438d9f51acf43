#include "core/tensor.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <cstdlib>
#include <cstring>
#include <new>

namespace loom {

std::string ShapeString(const Shape& shape) { return fmt::format("[{}]", fmt::join(shape, ", ")); }

int64_t NumElements(const Shape& shape) {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

Tensor Tensor::Zeros(DType dtype, Shape shape) {
  Tensor t;
  t.dtype_ = dtype;
  t.shape_ = std::move(shape);
  const size_t bytes = (t.nbytes() + 63) / 64 * 64;
  void* p = std::aligned_alloc(64, bytes == 0 ? 64 : bytes);
  if (p == nullptr) throw std::bad_alloc();
  std::memset(p, 0, bytes);
  t.data_ = p;
  t.owner_ = std::shared_ptr<void>(p, std::free);
  return t;
}

Tensor Tensor::View(DType dtype, Shape shape, void* data, std::shared_ptr<void> owner) {
  Tensor t;
  t.dtype_ = dtype;
  t.shape_ = std::move(shape);
  t.data_ = data;
  t.owner_ = std::move(owner);
  return t;
}

Tensor Tensor::Rows(int64_t begin, int64_t end) const {
  Tensor t = *this;
  const int64_t row_elems = shape_.empty() ? 1 : numel() / shape_[0];
  t.shape_[0] = end - begin;
  t.data_ = static_cast<char*>(data_) + begin * row_elems * static_cast<int64_t>(DTypeSize(dtype_));
  return t;
}

Tensor Tensor::ToF32() const {
  if (dtype_ == DType::kF32) return *this;
  Tensor out = Zeros(DType::kF32, shape_);
  const auto* src = data<uint16_t>();
  float* dst = out.data<float>();
  const int64_t n = numel();
  for (int64_t i = 0; i < n; ++i) dst[i] = dtype_ == DType::kBF16 ? BF16ToF32(src[i]) : F16ToF32(src[i]);
  return out;
}

}  // namespace loom
