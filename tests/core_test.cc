// Tensor views, Status/Result plumbing.
#include <gtest/gtest.h>

#include "core/status.h"
#include "core/tensor.h"

namespace loom {
namespace {

Tensor Iota(Shape shape) {
  Tensor t = Tensor::Zeros(DType::kF32, std::move(shape));
  for (int64_t i = 0; i < t.numel(); ++i) t.data<float>()[i] = static_cast<float>(i);
  return t;
}

TEST(Tensor, RowMajorStridesAndRows) {
  Tensor t = Iota({3, 4});
  EXPECT_EQ(t.strides(), (Shape{4, 1}));
  EXPECT_TRUE(t.IsContiguous());
  Tensor r = t.Rows(1, 3);
  EXPECT_EQ(r.shape(), (Shape{2, 4}));
  EXPECT_TRUE(r.IsContiguous());
  EXPECT_EQ(r.data<float>()[0], 4.0f);
  EXPECT_EQ(r.raw(), t.data<float>() + 4);  // shares storage
}

TEST(Tensor, InnerSliceIsStridedAndContiguousCopies) {
  Tensor t = Iota({2, 3, 4});
  Tensor s = t.Slice(2, 1, 3);  // [2, 3, 2]
  EXPECT_FALSE(s.IsContiguous());
  EXPECT_EQ(s.strides(), (Shape{12, 4, 1}));
  Tensor c = s.Contiguous();
  ASSERT_TRUE(c.IsContiguous());
  const std::vector<float> want = {1, 2, 5, 6, 9, 10, 13, 14, 17, 18, 21, 22};
  EXPECT_EQ(std::vector<float>(c.data<float>(), c.data<float>() + 12), want);
  Tensor mid = t.Slice(1, 2, 3).Contiguous();  // [2, 1, 4]
  EXPECT_EQ(std::vector<float>(mid.data<float>(), mid.data<float>() + 8),
            (std::vector<float>{8, 9, 10, 11, 20, 21, 22, 23}));
}

TEST(Tensor, ToF32ConvertsHalfPrecision) {
  uint16_t bf[3] = {F32ToBF16(1.5f), F32ToBF16(-2.0f), F32ToBF16(0.25f)};
  Tensor t = Tensor::View(DType::kBF16, {3}, bf, nullptr).ToF32();
  EXPECT_EQ(std::vector<float>(t.data<float>(), t.data<float>() + 3),
            (std::vector<float>{1.5f, -2.0f, 0.25f}));
  uint16_t h[2] = {F32ToF16(3.0f), F32ToF16(-0.5f)};
  Tensor u = Tensor::View(DType::kF16, {2}, h, nullptr).ToF32();
  EXPECT_EQ(u.data<float>()[0], 3.0f);
  EXPECT_EQ(u.data<float>()[1], -0.5f);
}

Result<int> Half(int x) {
  if (x % 2 != 0) return InvalidArgument("{} is odd", x);
  return x / 2;
}

Result<int> Quarter(int x) {
  LOOM_ASSIGN_OR_RETURN(int h, Half(x));
  LOOM_ASSIGN_OR_RETURN(int q, Half(h));
  return q;
}

TEST(Status, ResultPropagates) {
  EXPECT_EQ(*Quarter(8), 2);
  Result<int> r = Quarter(6);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(r.status().message(), "3 is odd");
}

}  // namespace
}  // namespace loom
