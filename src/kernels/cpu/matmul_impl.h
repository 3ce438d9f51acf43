// MatMul body shared by the ISAs: y[m, n] = x[m, k] · w[n, k]^T (+ bias[n]).
// Included once by cpu/matmul_<isa>.cc after `#define LOOM_ISA <isa>` and its vec_<isa>.h; all of
// it lands in namespace loom::kernels::LOOM_ISA, so the AVX2 and AVX-512 builds never share a
// symbol (the linker could otherwise keep the AVX-512 copy of an inline function for both).
//
// Strategy. Every output is a dot product over k of an x row and a w row, computed in a register
// tile of up to kMr x rows by kNr w rows (16 vector accumulators), lanes reduced at the end.
//  - Small m (decode, small batches): weights stream from memory exactly once and are widened to
//    f32 in registers as they are loaded; the kNr rows of a tile (<= 4 x k x 4 bytes) stay in
//    L1/L2 while up to kSmallM / kMr x tiles reuse them. Memory-bound at m = 1: what matters is
//    touching each weight byte once and keeping enough cache misses in flight. Widening in
//    registers stays cheaper than the scratch path up to m ~ 32-64 (AVX2 and AVX-512, measured).
//  - Large m (prefill): per thread, a block of kNbLarge w rows x kKc k is widened (or, for f32,
//    copied: contiguous rows are kinder to L2 and the TLB than k-strided ones) once into an f32
//    scratch that stays in L2 and is reused by every 4-row x tile; the inner loop is pure f32
//    loads + FMA.
// Threads split the output columns n (schedule static: each thread streams a contiguous slice
// of w), and only when the work is large enough to repay the OpenMP fork/join.

#include "kernels/cpu/cpu_kernels.h"
#include "kernels/cpu/scratch.h"

#ifndef LOOM_ISA
#error "define LOOM_ISA and include kernels/cpu/vec_<isa>.h before matmul_impl.h"
#endif

namespace loom::kernels::LOOM_ISA {
namespace {

constexpr int kMr = 4;            // x rows per register tile
constexpr int kNr = 4;            // w rows (output columns) per register tile
constexpr int64_t kSmallM = 32;   // m up to this: widen weights in registers (measured)
constexpr int64_t kNbSmall = 16;  // output columns per parallel task, small m
constexpr int64_t kNbLarge = 64;  // output columns per parallel task, large m
constexpr int64_t kKc = 512;      // k chunk of the large-m scratch: 64 x 512 f32 = 128 KiB
constexpr int64_t kMinParallelMacs = int64_t{1} << 17;  // ~5-10 us of one core's work

// Accumulates an MR x NR tile of dot products over k:
//   y[i * ldy + j] = base + x[i * ldx + 0:k] · w[j * ldw + 0:k],
// base = y[...] if `accumulate`, else bias[j] (or 0 when bias is null).
// kPrefetch: also prefetch the next NR w rows (the next tile) in step with this one. The
// hardware prefetcher stops at every 4 KiB page and a tile reads NR pages at once; prefetching
// the next tile keeps enough misses in flight (measured: 1-thread bf16 decode ~20 -> ~29 GB/s).
// Prefetches past the end of w are harmless (they never fault).
template <class W, int MR, int NR, bool kPrefetch>
void Tile(const float* x, int64_t ldx, const typename W::T* w, int64_t ldw, int64_t k,
          const float* bias, bool accumulate, float* y, int64_t ldy) {
  VF acc[MR][NR];
#pragma GCC unroll 4
  for (int i = 0; i < MR; ++i) {
#pragma GCC unroll 4
    for (int j = 0; j < NR; ++j) acc[i][j] = Zero();
  }
  int64_t kk = 0;
  for (; kk + kLanes <= k; kk += kLanes) {
    VF wv[NR];
    if constexpr (kPrefetch) {
#pragma GCC unroll 4
      for (int j = 0; j < NR; ++j) PrefetchAhead(w + j * ldw + kk, NR * ldw * sizeof(*w));
    }
#pragma GCC unroll 4
    for (int j = 0; j < NR; ++j) wv[j] = W::Load(w + j * ldw + kk);
#pragma GCC unroll 4
    for (int i = 0; i < MR; ++i) {
      const VF xv = Load(x + i * ldx + kk);
#pragma GCC unroll 4
      for (int j = 0; j < NR; ++j) acc[i][j] = MulAdd(xv, wv[j], acc[i][j]);
    }
  }
  if (kk < k) {
    const int64_t rem = k - kk;
    VF wv[NR];
#pragma GCC unroll 4
    for (int j = 0; j < NR; ++j) wv[j] = W::LoadN(w + j * ldw + kk, rem);
#pragma GCC unroll 4
    for (int i = 0; i < MR; ++i) {
      const VF xv = LoadN(x + i * ldx + kk, rem);
#pragma GCC unroll 4
      for (int j = 0; j < NR; ++j) acc[i][j] = MulAdd(xv, wv[j], acc[i][j]);
    }
  }
  for (int i = 0; i < MR; ++i) {
    for (int j = 0; j < NR; ++j) {
      float& out = y[i * ldy + j];
      const float base = accumulate ? out : (bias ? bias[j] : 0.0f);
      out = base + ReduceAdd(acc[i][j]);
    }
  }
}

// Tile with run-time mr in [1, kMr], nr in [1, kNr].
template <class W, bool kPrefetch, int MR>
void TileRows(int nr, const float* x, int64_t ldx, const typename W::T* w, int64_t ldw, int64_t k,
              const float* bias, bool accumulate, float* y, int64_t ldy) {
  switch (nr) {
    case 1:
      return Tile<W, MR, 1, kPrefetch>(x, ldx, w, ldw, k, bias, accumulate, y, ldy);
    case 2:
      return Tile<W, MR, 2, kPrefetch>(x, ldx, w, ldw, k, bias, accumulate, y, ldy);
    case 3:
      return Tile<W, MR, 3, kPrefetch>(x, ldx, w, ldw, k, bias, accumulate, y, ldy);
    default:
      return Tile<W, MR, 4, kPrefetch>(x, ldx, w, ldw, k, bias, accumulate, y, ldy);
  }
}
template <class W, bool kPrefetch>
void AnyTile(int mr, int nr, const float* x, int64_t ldx, const typename W::T* w, int64_t ldw,
             int64_t k, const float* bias, bool accumulate, float* y, int64_t ldy) {
  switch (mr) {
    case 1:
      return TileRows<W, kPrefetch, 1>(nr, x, ldx, w, ldw, k, bias, accumulate, y, ldy);
    case 2:
      return TileRows<W, kPrefetch, 2>(nr, x, ldx, w, ldw, k, bias, accumulate, y, ldy);
    case 3:
      return TileRows<W, kPrefetch, 3>(nr, x, ldx, w, ldw, k, bias, accumulate, y, ldy);
    default:
      return TileRows<W, kPrefetch, 4>(nr, x, ldx, w, ldw, k, bias, accumulate, y, ldy);
  }
}

inline int64_t MinI(int64_t a, int64_t b) { return a < b ? a : b; }

// Columns [j0, j1) of y for all m rows; weights widened in registers.
template <class W>
void ColumnsSmallM(const float* x, const typename W::T* w, const float* bias, float* y, int64_t m,
                   int64_t n, int64_t k, int64_t j0, int64_t j1) {
  for (int64_t j = j0; j < j1; j += kNr) {
    const int nr = static_cast<int>(MinI(kNr, j1 - j));
    for (int64_t i = 0; i < m; i += kMr) {
      const int mr = static_cast<int>(MinI(kMr, m - i));
      const float* b = bias ? bias + j : nullptr;
      // Only the first x tile streams w from memory; later ones find it in cache.
      if (i == 0) {
        AnyTile<W, /*kPrefetch=*/true>(mr, nr, x, k, w + j * k, k, k, b, false, y + j, n);
      } else {
        AnyTile<W, /*kPrefetch=*/false>(mr, nr, x + i * k, k, w + j * k, k, k, b, false,
                                        y + i * n + j, n);
      }
    }
  }
}

// Columns [j0, j1) (at most kNbLarge) of y for all m rows, k in chunks of kKc; each chunk of
// weights is widened into `scratch` (f32 [kNbLarge, kKc]) once.
template <class W>
void ColumnsLargeM(const float* x, const typename W::T* w, const float* bias, float* y, int64_t m,
                   int64_t n, int64_t k, int64_t j0, int64_t j1, float* scratch) {
  for (int64_t i = 0; i < m; ++i) {
    for (int64_t j = j0; j < j1; ++j) y[i * n + j] = bias ? bias[j] : 0.0f;
  }
  for (int64_t k0 = 0; k0 < k; k0 += kKc) {
    const int64_t kc = MinI(kKc, k - k0);
    for (int64_t j = j0; j < j1; ++j) {
      const typename W::T* src = w + j * k + k0;
      float* dst = scratch + (j - j0) * kKc;
      int64_t kk = 0;
      for (; kk + kLanes <= kc; kk += kLanes) Store(dst + kk, W::Load(src + kk));
      if (kk < kc) StoreN(dst + kk, W::LoadN(src + kk, kc - kk), kc - kk);
    }
    for (int64_t i = 0; i < m; i += kMr) {
      const int mr = static_cast<int>(MinI(kMr, m - i));
      for (int64_t j = j0; j < j1; j += kNr) {
        AnyTile<WeightF32, /*kPrefetch=*/false>(mr, static_cast<int>(MinI(kNr, j1 - j)),
                                                x + i * k + k0, k, scratch + (j - j0) * kKc, kKc,
                                                kc, nullptr, /*accumulate=*/true, y + i * n + j, n);
      }
    }
  }
}

template <class W>
void MatMulTyped(const float* x, const typename W::T* w, const float* bias, float* y, int64_t m,
                 int64_t n, int64_t k) {
  const bool parallel = m * n * k >= kMinParallelMacs;
  if (m <= kSmallM) {
    const int64_t blocks = (n + kNbSmall - 1) / kNbSmall;
#pragma omp parallel for schedule(static) if (parallel)
    for (int64_t b = 0; b < blocks; ++b) {
      ColumnsSmallM<W>(x, w, bias, y, m, n, k, b * kNbSmall, MinI(n, (b + 1) * kNbSmall));
    }
    return;
  }
  const int64_t blocks = (n + kNbLarge - 1) / kNbLarge;
#pragma omp parallel for schedule(static) if (parallel)
  for (int64_t b = 0; b < blocks; ++b) {
    float* scratch = static_cast<float*>(ThreadScratch(kNbLarge * kKc * sizeof(float)));
    ColumnsLargeM<W>(x, w, bias, y, m, n, k, b * kNbLarge, MinI(n, (b + 1) * kNbLarge), scratch);
  }
}

}  // namespace

void MatMul(const float* x, const void* w, DType w_dtype, const float* bias, float* y, int64_t m,
            int64_t n, int64_t k) {
  switch (w_dtype) {
    case DType::kF32:
      return MatMulTyped<WeightF32>(x, static_cast<const float*>(w), bias, y, m, n, k);
    case DType::kF16:
      return MatMulTyped<WeightF16>(x, static_cast<const uint16_t*>(w), bias, y, m, n, k);
    case DType::kBF16:
      return MatMulTyped<WeightBF16>(x, static_cast<const uint16_t*>(w), bias, y, m, n, k);
    default:
      return QuantMatMul(x, w, w_dtype, bias, y, m, n, k);  // block-quantized
  }
}

}  // namespace loom::kernels::LOOM_ISA
