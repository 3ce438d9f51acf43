#include "core/tensor.h"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <sys/mman.h>

#include <algorithm>
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

namespace {

Shape RowMajorStrides(const Shape& shape) {
  Shape strides(shape.size());
  int64_t s = 1;
  for (size_t i = shape.size(); i-- > 0;) {
    strides[i] = s;
    s *= shape[i];
  }
  return strides;
}

// Calls f(element offset of source, element index of destination) over all elements in
// row-major order of `shape`.
template <typename F>
void ForEachElement(const Shape& shape, const Shape& strides, F f) {
  const int64_t n = NumElements(shape);
  std::vector<int64_t> index(shape.size(), 0);
  int64_t offset = 0;
  for (int64_t i = 0; i < n; ++i) {
    f(offset, i);
    for (size_t d = shape.size(); d-- > 0;) {  // odometer increment
      offset += strides[d];
      if (++index[d] < shape[d]) break;
      offset -= strides[d] * shape[d];
      index[d] = 0;
    }
  }
}

}  // namespace

Tensor Tensor::Zeros(DType dtype, Shape shape) {
  Tensor t;
  t.dtype_ = dtype;
  t.shape_ = std::move(shape);
  t.strides_ = RowMajorStrides(t.shape_);
  const size_t bytes = (t.nbytes() + 63) / 64 * 64;
  void* p = std::aligned_alloc(64, bytes == 0 ? 64 : bytes);
  if (p == nullptr) throw std::bad_alloc();
  std::memset(p, 0, bytes);
  t.data_ = p;
  t.owner_ = std::shared_ptr<void>(p, std::free);
  return t;
}

Tensor Tensor::LazyZeros(DType dtype, Shape shape) {
  Tensor t;
  t.dtype_ = dtype;
  t.shape_ = std::move(shape);
  t.strides_ = RowMajorStrides(t.shape_);
  const size_t bytes = std::max<size_t>(t.nbytes(), 1);
  void* p = mmap(nullptr, bytes, PROT_READ | PROT_WRITE,
                 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (p == MAP_FAILED) throw std::bad_alloc();
  t.data_ = p;
  t.owner_ = std::shared_ptr<void>(p, [bytes](void* q) { munmap(q, bytes); });
  return t;
}

Tensor Tensor::HugePageZeros(DType dtype, Shape shape) {
  constexpr size_t kHuge = size_t{2} << 20;
  Tensor t;
  t.dtype_ = dtype;
  t.shape_ = std::move(shape);
  t.strides_ = RowMajorStrides(t.shape_);
  // Whole 4 KiB pages (a tail short of 2 MiB stays in small pages: nothing is wasted).
  const size_t bytes = (std::max<size_t>(t.nbytes(), 1) + 4095) / 4096 * 4096;
  // Over-allocate by one huge page and trim, to start on a 2 MiB boundary.
  void* raw = mmap(nullptr, bytes + kHuge, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (raw == MAP_FAILED) throw std::bad_alloc();
  const auto start = reinterpret_cast<uintptr_t>(raw);
  const uintptr_t aligned = (start + kHuge - 1) / kHuge * kHuge;
  if (aligned > start) munmap(raw, aligned - start);
  if (aligned + bytes < start + bytes + kHuge) {
    munmap(reinterpret_cast<void*>(aligned + bytes), start + kHuge - aligned);
  }
  void* p = reinterpret_cast<void*>(aligned);
  madvise(p, bytes, MADV_HUGEPAGE);  // advice only: without huge pages this is LazyZeros
  t.data_ = p;
  t.owner_ = std::shared_ptr<void>(p, [bytes](void* q) { munmap(q, bytes); });
  return t;
}

Tensor Tensor::View(DType dtype, Shape shape, void* data, std::shared_ptr<void> owner) {
  Tensor t;
  t.dtype_ = dtype;
  t.shape_ = std::move(shape);
  t.strides_ = RowMajorStrides(t.shape_);
  t.data_ = data;
  t.owner_ = std::move(owner);
  return t;
}

bool Tensor::IsContiguous() const { return strides_ == RowMajorStrides(shape_); }

Tensor Tensor::Slice(size_t dim, int64_t begin, int64_t end) const {
  Tensor t = *this;
  t.shape_[dim] = end - begin;
  t.data_ = static_cast<char*>(data_) + RowBytes(dtype_, begin * strides_[dim]);
  return t;
}

Tensor Tensor::Contiguous() const {
  if (IsContiguous()) return *this;
  Tensor out = Zeros(dtype_, shape_);
  const size_t es = DTypeSize(dtype_);
  const char* src = static_cast<const char*>(data_);
  char* dst = static_cast<char*>(out.data_);
  ForEachElement(shape_, strides_, [&](int64_t from, int64_t to) {
    std::memcpy(dst + to * es, src + from * es, es);
  });
  return out;
}

Tensor Tensor::ToF32() const {
  if (dtype_ == DType::kF32) return Contiguous();
  const Tensor src_t = Contiguous();
  Tensor out = Zeros(DType::kF32, shape_);
  const auto* src = src_t.data<uint16_t>();
  float* dst = out.data<float>();
  const int64_t n = numel();
  for (int64_t i = 0; i < n; ++i)
    dst[i] = dtype_ == DType::kBF16 ? BF16ToF32(src[i]) : F16ToF32(src[i]);
  return out;
}

}  // namespace loom
