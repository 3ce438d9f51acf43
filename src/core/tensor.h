// A tensor is a typed view (dtype, shape, strides in elements) over bytes that it may co-own.
// Views of mmapped weights share the mapping's lifetime through `owner`. Kernels take
// contiguous row-major buffers; a strided view (Slice on an inner dim) is made contiguous first.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/dtype.h"

namespace loom {

using Shape = std::vector<int64_t>;

std::string ShapeString(const Shape& shape);  // "[2, 3]"
int64_t NumElements(const Shape& shape);

class Tensor {
 public:
  Tensor() = default;

  // Zero-initialised, 64-byte aligned storage owned by the tensor.
  static Tensor Zeros(DType dtype, Shape shape);
  // Zero-filled storage whose pages the OS supplies on first touch (anonymous mmap): a large
  // KV pool costs nothing until used.
  static Tensor LazyZeros(DType dtype, Shape shape);
  // Zero-filled storage for a large tensor that is written in full at once (weights rearranged at
  // load): anonymous memory aligned to 2 MiB and advised for transparent huge pages, so the kernel
  // maps and zeroes it 2 MiB at a time rather than in 4 KiB page faults.
  static Tensor HugePageZeros(DType dtype, Shape shape);
  // A contiguous view over `data`; `owner` keeps the bytes alive (may be null for borrowed data).
  static Tensor View(DType dtype, Shape shape, void* data, std::shared_ptr<void> owner);

  DType dtype() const { return dtype_; }
  const Shape& shape() const { return shape_; }
  const Shape& strides() const { return strides_; }
  int64_t dim(size_t i) const { return shape_[i]; }
  size_t ndim() const { return shape_.size(); }
  int64_t numel() const { return NumElements(shape_); }
  // Block-quantized tensors are rows of whole blocks along the last dimension.
  size_t nbytes() const {
    if (shape_.empty()) return DTypeSize(dtype_);
    return static_cast<size_t>(numel() / shape_.back() * RowBytes(dtype_, shape_.back()));
  }
  bool defined() const { return data_ != nullptr; }

  void* raw() const { return data_; }
  template <typename T>
  T* data() const {
    return static_cast<T*>(data_);
  }

  bool IsContiguous() const;

  // Indices [begin, end) of dimension `dim`, sharing storage.
  Tensor Slice(size_t dim, int64_t begin, int64_t end) const;
  // Rows [begin, end) of the outermost dimension (contiguous if this is).
  Tensor Rows(int64_t begin, int64_t end) const { return Slice(0, begin, end); }
  // A contiguous copy, or this tensor if it already is contiguous.
  Tensor Contiguous() const;
  // The same values as contiguous f32 (a copy unless already contiguous f32).
  Tensor ToF32() const;

 private:
  DType dtype_ = DType::kF32;
  Shape shape_;
  Shape strides_;  // elements; row-major for tensors made by Zeros / View
  void* data_ = nullptr;
  std::shared_ptr<void> owner_;
};

}  // namespace loom
