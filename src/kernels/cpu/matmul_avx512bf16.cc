// MatMul for CPUs with AVX-512 BF16 and VNNI (Isa::kAvx512Bf16: Cooper Lake, Sapphire Rapids,
// Zen 4 and later): bf16 weights with vdpbf16ps; Q8_0 / Q4_0 / Q6_K weights on x rounded to Q8_0,
// with vpdpbusd where they are interleaved (q8_matmul_avx512bf16.cc); every other dtype as
// avx512::MatMul.
//
// bf16 semantics: y = x' · w^T (+ bias) with x' = x rounded to bf16 (nearest even), which is what
// llama.cpp does for bf16 weights and what a bf16 PyTorch model computes in; each vdpbf16ps adds
// two exact products per lane to an f32 accumulator (32 multiply-adds an instruction, twice an
// f32 FMA's).
//
// Blocking. Threads split tasks of kNb weight rows statically, each streaming one contiguous part
// of w (a dynamic hand-out measured slower: decode 17-18 against 24-25 tokens/s on a 1B model,
// the two threads' streams broken into pieces). Within a task, k goes in chunks of kKc: the chunk
// of kNb weight rows (128 KiB) stays in L2 while every 4-row x tile (in L1) runs over it in 4 x 4
// register tiles; each chunk's dot products are added to y. With a single x tile (decode) each
// register tile instead streams its rows whole, chunk after chunk, prefetching the same bytes of
// the next tile's rows; the sums are the same, so a row's result does not depend on m.
#include <algorithm>
#include <cstdint>
#include <span>

#include "kernels/cpu/cpu_kernels.h"
#include "kernels/cpu/intrinsics.h"
#include "kernels/cpu/scratch.h"
#include "kernels/cpu/vec_avx512.h"
#include "kernels/interleaved.h"

namespace loom::kernels::avx512bf16 {
namespace {

constexpr int kMr = 4, kNr = 4;  // register tile: x rows by weight rows
constexpr int64_t kNb = 64;      // weight rows per task
constexpr int64_t kKc = 1024;    // k chunk: 64 rows x 1024 x 2 bytes = 128 KiB
constexpr int64_t kMinParallelMacs = int64_t{1} << 17;

inline __mmask32 TailMask(int64_t n) { return n >= 32 ? ~__mmask32{0} : (__mmask32{1} << n) - 1; }

inline __m512bh LoadBf16(const uint16_t* p, int64_t n) {
  return reinterpret_cast<__m512bh>(_mm512_maskz_loadu_epi16(TailMask(n), p));
}

// x [m, k] f32 -> bf16 (nearest even), same layout.
const uint16_t* RoundRows(const float* x, int64_t m, int64_t k) {
  uint16_t* xb = static_cast<uint16_t*>(ThreadScratch(static_cast<size_t>(m * k * 2)));
  const int64_t total = m * k;
  for (int64_t i = 0; i < total; i += 32) {
    const int64_t n = total - i;
    const __mmask16 lo = static_cast<__mmask16>(TailMask(n)),
                    hi = static_cast<__mmask16>(TailMask(n - 16 < 0 ? 0 : n - 16));
    const __m512bh v = _mm512_cvtne2ps_pbh(_mm512_maskz_loadu_ps(hi, x + i + 16),
                                           _mm512_maskz_loadu_ps(lo, x + i));
    _mm512_mask_storeu_epi16(xb + i, TailMask(n), reinterpret_cast<__m512i>(v));
  }
  return xb;
}

// y[i * ldy + j] += x[i * ldx + 0:kc] · w[j * ldw + 0:kc] for an MR x NR tile (bf16 x and w).
template <int MR, int NR, bool kPrefetch>
void Tile(const uint16_t* x, int64_t ldx, const uint16_t* w, int64_t ldw, int64_t kc, float* y,
          int64_t ldy) {
  __m512 acc[MR][NR];
  for (int i = 0; i < MR; ++i) {
    for (int j = 0; j < NR; ++j) acc[i][j] = _mm512_setzero_ps();
  }
  for (int64_t kk = 0; kk < kc; kk += 32) {
    const int64_t n = kc - kk;
    __m512bh wv[NR];
    for (int j = 0; j < NR; ++j) {
      if constexpr (kPrefetch) {
        // Integer arithmetic: the next tile may lie past the end of w (prefetches never fault).
        _mm_prefetch(reinterpret_cast<const char*>(reinterpret_cast<uintptr_t>(w + j * ldw + kk) +
                                                   NR * ldw * 2),
                     _MM_HINT_T0);
      }
      wv[j] = LoadBf16(w + j * ldw + kk, n);
    }
    for (int i = 0; i < MR; ++i) {
      const __m512bh xv = LoadBf16(x + i * ldx + kk, n);
      for (int j = 0; j < NR; ++j) acc[i][j] = _mm512_dpbf16_ps(acc[i][j], xv, wv[j]);
    }
  }
  __m512 v[16];  // 4 x 4, lane t of the sums = (i, j) = (t / 4, t % 4)
  for (int t = 0; t < 16; ++t)
    v[t] = t / 4 < MR && t % 4 < NR ? acc[t / 4][t % 4] : _mm512_setzero_ps();
  const __m512 sums = avx512::ReduceLanes(v);
  const __mmask16 cols = (1u << NR) - 1u;
  for (int i = 0; i < MR; ++i) {
    const __m512 row = _mm512_maskz_compress_ps(static_cast<__mmask16>(cols << (4 * i)), sums);
    _mm512_mask_storeu_ps(y + i * ldy, cols,
                          _mm512_add_ps(_mm512_maskz_loadu_ps(cols, y + i * ldy), row));
  }
}

template <int MR, bool kPrefetch>
void TileRows(int nr, const uint16_t* x, int64_t ldx, const uint16_t* w, int64_t ldw, int64_t kc,
              float* y, int64_t ldy) {
  switch (nr) {
    case 1:
      return Tile<MR, 1, kPrefetch>(x, ldx, w, ldw, kc, y, ldy);
    case 2:
      return Tile<MR, 2, kPrefetch>(x, ldx, w, ldw, kc, y, ldy);
    case 3:
      return Tile<MR, 3, kPrefetch>(x, ldx, w, ldw, kc, y, ldy);
    default:
      return Tile<MR, 4, kPrefetch>(x, ldx, w, ldw, kc, y, ldy);
  }
}

template <bool kPrefetch>
void AnyTile(int mr, int nr, const uint16_t* x, int64_t ldx, const uint16_t* w, int64_t ldw,
             int64_t kc, float* y, int64_t ldy) {
  switch (mr) {
    case 1:
      return TileRows<1, kPrefetch>(nr, x, ldx, w, ldw, kc, y, ldy);
    case 2:
      return TileRows<2, kPrefetch>(nr, x, ldx, w, ldw, kc, y, ldy);
    case 3:
      return TileRows<3, kPrefetch>(nr, x, ldx, w, ldw, kc, y, ldy);
    default:
      return TileRows<4, kPrefetch>(nr, x, ldx, w, ldw, kc, y, ldy);
  }
}

inline int64_t MinI(int64_t a, int64_t b) { return a < b ? a : b; }

void Bf16MatMul(const float* x, const uint16_t* w, const float* bias, float* y, int64_t m,
                int64_t n, int64_t k) {
  const uint16_t* xb = RoundRows(x, m, k);
  const int64_t tasks = (n + kNb - 1) / kNb;
#pragma omp parallel for schedule(static) if (m * n * k >= kMinParallelMacs)
  for (int64_t t = 0; t < tasks; ++t) {
    const int64_t j0 = t * kNb, j1 = MinI(n, j0 + kNb);
    for (int64_t i = 0; i < m; ++i) {
      for (int64_t j = j0; j < j1; ++j) y[i * n + j] = bias ? bias[j] : 0.0f;
    }
    if (m <= kMr) {
      // Decode: one x tile, so stream each weight tile's rows whole, chunk after chunk (the same
      // sums in the same order as below).
      for (int64_t j = j0; j < j1; j += kNr) {
        const int nr = static_cast<int>(MinI(kNr, j1 - j));
        for (int64_t k0 = 0; k0 < k; k0 += kKc) {
          AnyTile<true>(static_cast<int>(m), nr, xb + k0, k, w + j * k + k0, k, MinI(kKc, k - k0),
                        y + j, n);
        }
      }
      continue;
    }
    for (int64_t k0 = 0; k0 < k; k0 += kKc) {
      const int64_t kc = MinI(kKc, k - k0);
      for (int64_t i = 0; i < m; i += kMr) {
        const int mr = static_cast<int>(MinI(kMr, m - i));
        for (int64_t j = j0; j < j1; j += kNr) {
          AnyTile<false>(mr, static_cast<int>(MinI(kNr, j1 - j)), xb + i * k + k0, k,
                         w + j * k + k0, k, kc, y + i * n + j, n);
        }
      }
    }
  }
}

}  // namespace

void MatMul(const float* x, const void* w, DType w_dtype, const float* bias, float* y, int64_t m,
            int64_t n, int64_t k) {
  if (interleaved::IsInterleaved(w_dtype)) {
    const MatMulOut out{w, w_dtype, bias, y, n};
    return MatMuls(x, {&out, 1}, m, k);
  }
  if (w_dtype == DType::kBF16) {
    return Bf16MatMul(x, static_cast<const uint16_t*>(w), bias, y, m, n, k);
  }
  if (Q8MatMulHandles(w_dtype)) return Q8MatMul(x, w, w_dtype, bias, y, m, n, k);
  return avx512::MatMul(x, w, w_dtype, bias, y, m, n, k);
}

void MatMuls(const float* x, std::span<const MatMulOut> outs, int64_t m, int64_t k) {
  const DType t = outs.empty() ? DType::kF32 : outs[0].w_dtype;
  const bool same =
      std::all_of(outs.begin(), outs.end(), [&](const MatMulOut& o) { return o.w_dtype == t; });
  if (same && (t == DType::kQ4_0x16 || t == DType::kQ8_0x16)) {
    return Q8InterleavedMatMuls(x, outs, m, k);
  }
  if (same && t == DType::kQ6_Kx16) return Q6KMatMuls(x, outs, m, k);
  if (same && t == DType::kBF16x16) return Bf16x16MatMuls(x, outs, m, k);
  for (const MatMulOut& o : outs) MatMul(x, o.w, o.w_dtype, o.bias, o.y, m, o.n, k);
}

}  // namespace loom::kernels::avx512bf16
