// Row norms, activations, softmax and rotary embedding, shared by the ISAs. Included once by
// cpu/elementwise_<isa>.cc after `#define LOOM_ISA <isa>` and its vec_<isa>.h; everything lands in
// namespace loom::kernels::LOOM_ISA (see matmul_impl.h for why).
//
// These are memory-bound streams; they go parallel only for prefill-sized inputs.
#include <math.h>  // sqrtf, logf: plain C functions, nothing inline shared across ISAs

#include "kernels/cpu/cpu_kernels.h"

#ifndef LOOM_ISA
#error "define LOOM_ISA and include kernels/cpu/vec_<isa>.h before elementwise_impl.h"
#endif

namespace loom::kernels::LOOM_ISA {
namespace {

constexpr int64_t kMinParallelElems = int64_t{1} << 16;
constexpr int64_t kChunk = 4096;  // elements per parallel task; a multiple of every kLanes

inline VF Neg(VF x) { return Sub(Zero(), x); }

// silu(x) = x / (1 + e^-x). True division: reciprocal approximations would cost ~1e-4.
inline VF SiluV(VF x) { return Div(x, Add(Set1(1.0f), Exp(Neg(x)))); }

// erf(x): the rational approximation of Eigen/XLA on [-4, 4] (odd degree-13 over even degree-8
// polynomial in x); |erf(x)| rounds to 1 in f32 beyond 4. A few ulp.
inline VF ErfV(VF x) {
  x = Max(Set1(-4.0f), Min(Set1(4.0f), x));
  const VF x2 = Mul(x, x);
  VF p = Set1(-2.72614225801306e-10f);
  p = MulAdd(p, x2, Set1(2.77068142495902e-08f));
  p = MulAdd(p, x2, Set1(-2.10102402082508e-06f));
  p = MulAdd(p, x2, Set1(-5.69250639462346e-05f));
  p = MulAdd(p, x2, Set1(-7.34990630326855e-04f));
  p = MulAdd(p, x2, Set1(-2.95459980854025e-03f));
  p = MulAdd(p, x2, Set1(-1.60960333262415e-02f));
  p = Mul(p, x);
  VF q = Set1(-1.45660718464996e-05f);
  q = MulAdd(q, x2, Set1(-2.13374055278905e-04f));
  q = MulAdd(q, x2, Set1(-1.68282697438203e-03f));
  q = MulAdd(q, x2, Set1(-7.37332916720468e-03f));
  q = MulAdd(q, x2, Set1(-1.42647390514189e-02f));
  return Div(p, q);
}

// 0.5 x (1 + erf(x / sqrt 2)), as torch computes it in f32.
inline VF GeluErfV(VF x) {
  const VF e = ErfV(Mul(x, Set1(0.70710678118654752f)));
  return Mul(Mul(Set1(0.5f), x), Add(Set1(1.0f), e));
}

// 0.5 x (1 + tanh(u)), u = sqrt(2/pi) (x + 0.044715 x^3). Since 1 + tanh(u) = 2 sigmoid(2u),
// this is x / (1 + e^(-2u)): no cancellation for negative x and no tanh needed.
inline VF GeluTanhV(VF x) {
  const VF x2 = Mul(x, x);
  const VF two_u = Mul(x, MulAdd(x2, Set1(2.0f * 0.7978845608028654f * 0.044715f),
                                 Set1(2.0f * 0.7978845608028654f)));
  return Div(x, Add(Set1(1.0f), Exp(Neg(two_u))));
}

// x[i] = f(x[i]) for i < n.
template <class F>
void MapInPlace(float* x, int64_t n, F f) {
  const int64_t chunks = (n + kChunk - 1) / kChunk;
#pragma omp parallel for schedule(static) if (n >= kMinParallelElems)
  for (int64_t c = 0; c < chunks; ++c) {
    const int64_t end = c * kChunk + kChunk < n ? c * kChunk + kChunk : n;
    int64_t i = c * kChunk;
    for (; i + kLanes <= end; i += kLanes) Store(x + i, f(Load(x + i)));
    if (i < end) StoreN(x + i, f(LoadN(x + i, end - i)), end - i);
  }
}

// max over x[0:n] (n >= 1).
inline float RowMax(const float* x, int64_t n) {
  const float kNegInf = -__builtin_inff();
  VF m = Set1(kNegInf);
  int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes) m = Max(m, Load(x + i));
  if (i < n) m = Max(m, LoadNFill(x + i, n - i, kNegInf));
  return ReduceMax(m);
}

// sum of exp(x[i] - shift); if `out` is non-null also stores the terms there (may alias x).
inline float SumExp(const float* x, int64_t n, float shift, float* out) {
  const VF s = Set1(shift);
  VF sum = Zero();
  int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes) {
    const VF e = Exp(Sub(Load(x + i), s));
    if (out) Store(out + i, e);
    sum = Add(sum, e);
  }
  if (i < n) {
    // Padding lanes load -inf and contribute exp(-inf) = 0.
    const VF e = Exp(Sub(LoadNFill(x + i, n - i, -__builtin_inff()), s));
    if (out) StoreN(out + i, e, n - i);
    sum = Add(sum, e);
  }
  return ReduceAdd(sum);
}

}  // namespace

void RmsNorm(const float* x, const float* weight, float* y, int64_t rows, int64_t dim, float eps) {
#pragma omp parallel for schedule(static) if (rows * dim >= kMinParallelElems && rows > 1)
  for (int64_t r = 0; r < rows; ++r) {
    const float* xr = x + r * dim;
    float* yr = y + r * dim;
    VF acc0 = Zero();
    VF acc1 = Zero();
    int64_t i = 0;
    for (; i + 2 * kLanes <= dim; i += 2 * kLanes) {
      const VF a = Load(xr + i);
      const VF b = Load(xr + i + kLanes);
      acc0 = MulAdd(a, a, acc0);
      acc1 = MulAdd(b, b, acc1);
    }
    for (; i < dim; i += kLanes) {
      const VF a = LoadN(xr + i, dim - i < kLanes ? dim - i : kLanes);
      acc0 = MulAdd(a, a, acc0);
    }
    const float mean_sq = ReduceAdd(Add(acc0, acc1)) / static_cast<float>(dim);
    const VF inv_rms = Set1(1.0f / sqrtf(mean_sq + eps));
    // Same order as HF: (x * inv_rms) * weight.
    i = 0;
    for (; i + kLanes <= dim; i += kLanes) {
      Store(yr + i, Mul(Mul(Load(xr + i), inv_rms), Load(weight + i)));
    }
    if (i < dim) {
      const int64_t rem = dim - i;
      StoreN(yr + i, Mul(Mul(LoadN(xr + i, rem), inv_rms), LoadN(weight + i, rem)), rem);
    }
  }
}

void SiluMul(const float* gate, const float* up, float* out, int64_t n) {
  const int64_t chunks = (n + kChunk - 1) / kChunk;
#pragma omp parallel for schedule(static) if (n >= kMinParallelElems)
  for (int64_t c = 0; c < chunks; ++c) {
    const int64_t end = c * kChunk + kChunk < n ? c * kChunk + kChunk : n;
    int64_t i = c * kChunk;
    for (; i + kLanes <= end; i += kLanes) {
      Store(out + i, Mul(SiluV(Load(gate + i)), Load(up + i)));
    }
    if (i < end) {
      const int64_t rem = end - i;
      StoreN(out + i, Mul(SiluV(LoadN(gate + i, rem)), LoadN(up + i, rem)), rem);
    }
  }
}

void Silu(float* x, int64_t n) {
  MapInPlace(x, n, [](VF v) { return SiluV(v); });
}
void GeluErf(float* x, int64_t n) {
  MapInPlace(x, n, [](VF v) { return GeluErfV(v); });
}
void GeluTanh(float* x, int64_t n) {
  MapInPlace(x, n, [](VF v) { return GeluTanhV(v); });
}

void Softmax(float* x, int64_t rows, int64_t cols) {
  if (cols <= 0) return;
#pragma omp parallel for schedule(static) if (rows * cols >= kMinParallelElems && rows > 1)
  for (int64_t r = 0; r < rows; ++r) {
    float* xr = x + r * cols;
    const float max = RowMax(xr, cols);
    const VF inv_sum = Set1(1.0f / SumExp(xr, cols, max, xr));
    int64_t i = 0;
    for (; i + kLanes <= cols; i += kLanes) Store(xr + i, Mul(Load(xr + i), inv_sum));
    if (i < cols) StoreN(xr + i, Mul(LoadN(xr + i, cols - i), inv_sum), cols - i);
  }
}

void LogSoftmax(const float* x, float* y, int64_t rows, int64_t cols) {
  if (cols <= 0) return;
#pragma omp parallel for schedule(static) if (rows * cols >= kMinParallelElems && rows > 1)
  for (int64_t r = 0; r < rows; ++r) {
    const float* xr = x + r * cols;
    float* yr = y + r * cols;
    const float max = RowMax(xr, cols);
    const VF log_z = Set1(max + logf(SumExp(xr, cols, max, nullptr)));
    int64_t i = 0;
    for (; i + kLanes <= cols; i += kLanes) Store(yr + i, Sub(Load(xr + i), log_z));
    if (i < cols) StoreN(yr + i, Sub(LoadN(xr + i, cols - i), log_z), cols - i);
  }
}

void RopeNeox(float* x, const float* cos, const float* sin, int64_t n_tokens, int64_t n_heads,
              int64_t head_dim) {
  const int64_t half = head_dim / 2;
  const int64_t pairs = n_tokens * n_heads;
#pragma omp parallel for schedule(static) if (pairs * head_dim >= kMinParallelElems)
  for (int64_t p = 0; p < pairs; ++p) {
    const int64_t t = p / n_heads;
    const float* c = cos + t * half;
    const float* s = sin + t * half;
    float* x0p = x + p * head_dim;
    float* x1p = x0p + half;
    for (int64_t d = 0; d < half; d += kLanes) {
      const int64_t len = half - d < kLanes ? half - d : kLanes;
      const bool full = len == kLanes;
      const VF x0 = full ? Load(x0p + d) : LoadN(x0p + d, len);
      const VF x1 = full ? Load(x1p + d) : LoadN(x1p + d, len);
      const VF cv = full ? Load(c + d) : LoadN(c + d, len);
      const VF sv = full ? Load(s + d) : LoadN(s + d, len);
      const VF y0 = NegMulAdd(x1, sv, Mul(x0, cv));  // x0 cos - x1 sin
      const VF y1 = MulAdd(x0, sv, Mul(x1, cv));     // x1 cos + x0 sin
      if (full) {
        Store(x0p + d, y0);
        Store(x1p + d, y1);
      } else {
        StoreN(x0p + d, y0, len);
        StoreN(x1p + d, y1, len);
      }
    }
  }
}

}  // namespace loom::kernels::LOOM_ISA
