// MatMul for Q8_0 and Q4_0 weights on x rounded to Q8_0 (llama.cpp's vec_dot_type for both):
// integer dot products with AVX-512 VNNI, vpdpbusd, 64 multiply-adds an instruction. Q6_K weights
// take the same rounding (llama.cpp rounds to Q8_K, per 256) with a row-major kernel for one x
// row and the f32 decoder otherwise.
//
// Semantics: y = x' · w^T (+ bias), x' = x rounded through Q8_0 row by row (ref::Quantize then
// Dequantize: blocks of 32, d = max|x| / 127 stored as f16, q = round(x / d)). Each block's
// product sum(q_w q_x) is an exact int32; f32 only accumulates isum * (d_w d_x). The products
// never depend on m; the f32 summation order does (one x row takes the row-major kernels below).
//
// Layout. vpdpbusd multiplies 4 unsigned by 4 signed bytes into each int32 lane. For a panel of
// 16 weight rows, each block is transposed in registers so that lane r of a vector holds 4
// consecutive quants of row r ("rows in lanes"): one vpdpbusd against 4 bytes of x broadcast
// advances all 16 rows, and the 16 rows' scales of the block form one vector, so the f32 work is
// one convert and one FMA per block for 16 outputs. Quants are made unsigned by an offset (Q8_0:
// w + 128 = w ^ 0x80; Q4_0: its raw nibbles, offset 8); starting the int32 accumulator at
// -offset * sum(q_x) removes it exactly.
//
// Rows of x are processed in tiles of up to kMr. The first tile transposes each block straight
// from w and stores it; the later tiles reload the transposed panel from L2. A single x row
// (decode of one sequence) reads w row-major instead: Q4_0 with QuantGemv
// (q8_gemv_avx512bf16.cc), Q8_0 with avx512::MatMul's f32 decoder on the rounded x.
// Threads split the panels statically, each streaming one contiguous part of w (as the other
// matmuls: a dynamic hand-out measured slower).
#include <cstdint>

#include "kernels/cpu/cpu_kernels.h"
#include "kernels/cpu/intrinsics.h"
#include "kernels/cpu/q8_quantize_avx512bf16.h"
#include "kernels/cpu/scratch.h"

namespace loom::kernels::avx512bf16 {
namespace {

constexpr int kRows = 16;  // weight rows per panel: one per int32 lane
constexpr int kMr = 8;     // x rows per tile: 8 int32 + 8 f32 accumulators
constexpr int64_t kMinParallelMacs = int64_t{1} << 17;
// Bytes ahead of the current block to prefetch in each of the 16 rows: the hardware prefetcher
// stops at 4 KiB pages and does not keep 16 streams going.
constexpr int64_t kPrefetchBytes = 1024;

// Index vectors for _mm512_permutex2var_epi32 (lane l takes source lane idx[l]: 0-15 from a,
// 16-31 from b) that pick 16 (row, dword) pairs out of two registers, in the transposes below.
// Tables, not static vectors: nothing here may run AVX-512 code at program start.
struct Idx {
  alignas(64) int32_t v[16];
};
template <class F>
constexpr Idx MakeIdx(F f) {
  Idx idx{};
  for (int l = 0; l < 16; ++l) idx.v[l] = f(l);
  return idx;
}
inline __m512i Load(const Idx& idx) { return _mm512_load_si512(idx.v); }

// Q8_0 stage 1: from [rows 0,1] and [rows 2,3] (8 dwords each), lane l = (row l % 4, dword
// 4h + l / 4).
template <int H>
constexpr Idx kQ8Stage1 = MakeIdx([](int l) {
  const int t = l % 4, g = 4 * H + l / 4;
  return t < 2 ? 8 * t + g : 16 + 8 * (t - 2) + g;
});
// Q8_0 stage 2: from two stage-1 registers (rows 0-3, rows 4-7; dwords 4h .. 4h + 3), lane l =
// (row l % 8, dword 4h + 2E + l / 8).
template <int E>
constexpr Idx kQ8Stage2 = MakeIdx([](int l) {
  const int t = l % 8, g = 2 * E + l / 8;
  return t < 4 ? 4 * g + t : 16 + 4 * g + t - 4;
});
// Q4_0 stage 1: from [rows 0-3] and [rows 4-7] (4 dwords each), lane l = (row l % 8, dword
// 2H + l / 8).
template <int H>
constexpr Idx kQ4Stage1 = MakeIdx([](int l) {
  const int t = l % 8, g = 2 * H + l / 8;
  return t < 4 ? 4 * t + g : 16 + 4 * (t - 4) + g;
});

// x rows rounded to Q8_0: q int8 [m, k], d f32 [m, k / 32] (the f16 scale widened), s int32
// [m, k / 32] (sum of the block's q).
struct XQ8 {
  int8_t* q;
  float* d;
  int32_t* s;
  int64_t k, blocks;
};

// x [m, k] rounded through Q8_0: d * q per element (exact in f32: an 11-bit d times a 7-bit q).
const float* RoundRows(const float* x, int64_t m, int64_t k) {
  float* xr = static_cast<float*>(ThreadScratch(0, static_cast<size_t>(m * k) * sizeof(float)));
  alignas(64) int8_t q[32];
  for (int64_t i = 0; i < m * k; i += 32) {
    float d;
    int32_t sum;
    QuantizeBlock(x + i, q, &d, &sum);
    for (int v = 0; v < 2; ++v) {
      const __m512i qi =
          _mm512_cvtepi8_epi32(_mm_load_si128(reinterpret_cast<const __m128i*>(q + 16 * v)));
      _mm512_storeu_ps(xr + i + 16 * v, _mm512_mul_ps(_mm512_cvtepi32_ps(qi), _mm512_set1_ps(d)));
    }
  }
  return xr;
}

XQ8 QuantizeRows(const float* x, int64_t m, int64_t k) {
  const int64_t blocks = k / 32;
  uint8_t* buf =
      static_cast<uint8_t*>(ThreadScratch(0, static_cast<size_t>(m * k + 2 * m * blocks * 4 + 64)));
  XQ8 xq{reinterpret_cast<int8_t*>(buf), nullptr, nullptr, k, blocks};
  xq.d = reinterpret_cast<float*>(buf + (m * k + 63) / 64 * 64);
  xq.s = reinterpret_cast<int32_t*>(xq.d + m * blocks);
#pragma omp parallel for schedule(static) if (m * k >= (int64_t{1} << 16))
  for (int64_t i = 0; i < m; ++i) {
    for (int64_t b = 0; b < blocks; ++b) {
      QuantizeBlock(x + i * k + 32 * b, xq.q + i * k + 32 * b, xq.d + i * blocks + b,
                    xq.s + i * blocks + b);
    }
  }
  return xq;
}

// The 16 rows' f16 scales at byte `off` of each row (row offsets `rows`, relative to `base`),
// widened: one gather of 32-bit words whose low halves are the scales.
inline __m512 GatherScales(const uint8_t* base, __m512i rows) {
  const __m512i words = _mm512_i32gather_epi32(rows, base, 1);
  return _mm512_cvtph_ps(_mm512_cvtepi32_epi16(words));
}

// Integer arithmetic: the target may lie past the end of w (prefetches never fault).
inline void Prefetch(const uint8_t* const* row, int64_t off) {
  for (int r = 0; r < kRows; ++r) {
    _mm_prefetch(reinterpret_cast<const char*>(reinterpret_cast<uintptr_t>(row[r]) + off),
                 _MM_HINT_T0);
  }
}

// acc + a · (4 bytes at x, broadcast): vpdpbusd with its {1to16} memory form, one instruction
// where GCC 12 emits a separate vpbroadcastd for _mm512_set1_epi32.
inline __m512i DpbusdBroadcast(__m512i acc, __m512i a, const int32_t* x) {
  asm("vpdpbusd %2%{1to16%}, %1, %0" : "+v"(acc) : "v"(a), "m"(*x));
  return acc;
}

// One block of 16 weight rows, rows in lanes: scale lane r = row r's d; v[g] lane r = its
// quants 4g .. 4g + 3 as unsigned bytes (quant + kOffset of the type).
struct PackedBlock {
  __m512 scale;
  __m512i v[8];
};

// Q8_0 (f16 d, int8 qs[32]): unsigned quant = q + 128 = q ^ 0x80.
struct Q8_0 : PackedBlock {
  static constexpr int64_t kBytes = 34, kOffset = 128;

  void Pack(const uint8_t* const* row, __m512i row_offsets, int64_t off) {
    // z[p] = [row 2p | row 2p + 1], 8 dwords each.
    __m512i z[8];
    for (int p = 0; p < 8; ++p) {
      const __m256i lo = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(row[2 * p] + off + 2));
      const __m256i hi =
          _mm256_loadu_si256(reinterpret_cast<const __m256i*>(row[2 * p + 1] + off + 2));
      z[p] = _mm512_inserti64x4(_mm512_castsi256_si512(lo), hi, 1);
    }
    // Stage 1: s1[q][h] = rows 4q .. 4q + 3, dwords 4h .. 4h + 3.
    const __m512i i1[2] = {Load(kQ8Stage1<0>), Load(kQ8Stage1<1>)};
    const __m512i i2[2] = {Load(kQ8Stage2<0>), Load(kQ8Stage2<1>)};
    __m512i s1[4][2];
    for (int q = 0; q < 4; ++q) {
      for (int h = 0; h < 2; ++h)
        s1[q][h] = _mm512_permutex2var_epi32(z[2 * q], i1[h], z[2 * q + 1]);
    }
    const __m512i flip = _mm512_set1_epi8(static_cast<char>(0x80));
    for (int h = 0; h < 2; ++h) {
      for (int e = 0; e < 2; ++e) {
        const __m512i a = _mm512_permutex2var_epi32(s1[0][h], i2[e], s1[1][h]);  // rows 0-7
        const __m512i b = _mm512_permutex2var_epi32(s1[2][h], i2[e], s1[3][h]);  // rows 8-15
        // Stage 2 gave rows 0-7 and 8-15 of dwords 4h + 2e + {0, 1}; stage 3 joins them.
        v[4 * h + 2 * e] =
            _mm512_xor_si512(_mm512_shuffle_i64x2(a, b, _MM_SHUFFLE(1, 0, 1, 0)), flip);
        v[4 * h + 2 * e + 1] =
            _mm512_xor_si512(_mm512_shuffle_i64x2(a, b, _MM_SHUFFLE(3, 2, 3, 2)), flip);
      }
    }
    scale = GatherScales(row[0] + off, row_offsets);
  }
};

// Q4_0 (f16 d, qs[16]: quant j < 16 in the low nibble of qs[j], j + 16 in the high): the
// unsigned quant is the nibble (offset 8). Bytes 4g .. 4g + 3 of qs hold quants 4g .. 4g + 3
// (low nibbles, v[g]) and 16 + 4g .. (high nibbles, v[4 + g]).
struct Q4_0 : PackedBlock {
  static constexpr int64_t kBytes = 18, kOffset = 8;

  void Pack(const uint8_t* const* row, __m512i row_offsets, int64_t off) {
    // z[q] = rows 4q .. 4q + 3, 4 dwords each.
    __m512i z[4];
    for (int q = 0; q < 4; ++q) {
      const auto qs = [&](int s) {
        return _mm_loadu_si128(reinterpret_cast<const __m128i*>(row[4 * q + s] + off + 2));
      };
      // Literal lane numbers: the instruction takes an immediate, which a loop counter is only
      // after unrolling (-O3 unrolls it; a debug build does not).
      __m512i t = _mm512_castsi128_si512(qs(0));
      t = _mm512_inserti32x4(t, qs(1), 1);
      t = _mm512_inserti32x4(t, qs(2), 2);
      z[q] = _mm512_inserti32x4(t, qs(3), 3);
    }
    const __m512i i1[2] = {Load(kQ4Stage1<0>), Load(kQ4Stage1<1>)};
    const __m512i low4 = _mm512_set1_epi8(0x0F);
    for (int h = 0; h < 2; ++h) {
      const __m512i a = _mm512_permutex2var_epi32(z[0], i1[h], z[1]);  // rows 0-7
      const __m512i b = _mm512_permutex2var_epi32(z[2], i1[h], z[3]);  // rows 8-15
      for (int f = 0; f < 2; ++f) {
        const __m512i bytes = f == 0 ? _mm512_shuffle_i64x2(a, b, _MM_SHUFFLE(1, 0, 1, 0))
                                     : _mm512_shuffle_i64x2(a, b, _MM_SHUFFLE(3, 2, 3, 2));
        v[2 * h + f] = _mm512_and_si512(bytes, low4);
        v[4 + 2 * h + f] = _mm512_and_si512(_mm512_srli_epi16(bytes, 4), low4);
      }
    }
    scale = GatherScales(row[0] + off, row_offsets);
  }
};

// Outputs y[i0 .. i0 + MR, j0 .. j0 + nrows) of a panel. from_w: transpose each block from the
// weight rows and store it at panel + b; else reload it from there.
template <class Q, int MR>
void Tile(const uint8_t* const* row, __m512i row_offsets, int64_t blocks, PackedBlock* panel,
          bool from_w, const XQ8& xq, int64_t i0, const float* bias, float* y, int64_t ldy,
          int nrows) {
  __m512 acc[MR];
  for (int i = 0; i < MR; ++i) acc[i] = _mm512_setzero_ps();
  for (int64_t b = 0; b < blocks; ++b) {
    PackedBlock blk;
    if (from_w) {
      const int64_t off = b * Q::kBytes;
      if (off % 64 < Q::kBytes) Prefetch(row, off + kPrefetchBytes);  // once per cache line
      Q q;
      q.Pack(row, row_offsets, off);
      blk = q;
      panel[b] = blk;
    } else {
      blk = panel[b];
    }
    // Rows innermost: MR independent vpdpbusd chains in flight rather than one row's 8 in turn.
    __m512i isum[MR];
    const int32_t* x4[MR];
    for (int i = 0; i < MR; ++i) {
      const int64_t xi = (i0 + i) * xq.blocks + b;
      isum[i] = _mm512_set1_epi32(static_cast<int32_t>(-Q::kOffset * xq.s[xi]));
      x4[i] = reinterpret_cast<const int32_t*>(xq.q + (i0 + i) * xq.k + 32 * b);
    }
    for (int g = 0; g < 8; ++g) {
      for (int i = 0; i < MR; ++i) isum[i] = DpbusdBroadcast(isum[i], blk.v[g], x4[i] + g);
    }
    for (int i = 0; i < MR; ++i) {
      const int64_t xi = (i0 + i) * xq.blocks + b;
      acc[i] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(isum[i]),
                               _mm512_mul_ps(blk.scale, _mm512_set1_ps(xq.d[xi])), acc[i]);
    }
  }
  const __mmask16 mask = static_cast<__mmask16>((1u << nrows) - 1u);
  const __m512 bv = bias ? _mm512_maskz_loadu_ps(mask, bias) : _mm512_setzero_ps();
  for (int i = 0; i < MR; ++i)
    _mm512_mask_storeu_ps(y + (i0 + i) * ldy, mask, _mm512_add_ps(acc[i], bv));
}

template <class Q, int MR = kMr>
void AnyTile(int mr, const uint8_t* const* row, __m512i row_offsets, int64_t blocks,
             PackedBlock* panel, bool from_w, const XQ8& xq, int64_t i0, const float* bias,
             float* y, int64_t ldy, int nrows) {
  if constexpr (MR > 1) {
    if (mr < MR) {
      return AnyTile<Q, MR - 1>(mr, row, row_offsets, blocks, panel, from_w, xq, i0, bias, y, ldy,
                                nrows);
    }
  }
  Tile<Q, MR>(row, row_offsets, blocks, panel, from_w, xq, i0, bias, y, ldy, nrows);
}

template <class Q>
void Q8MatMulTyped(const float* x, const uint8_t* w, const float* bias, float* y, int64_t m,
                   int64_t n, int64_t k) {
  const XQ8 xq = QuantizeRows(x, m, k);
  const int64_t blocks = k / 32;
  const int64_t ldw = blocks * Q::kBytes;
  const int64_t panels = (n + kRows - 1) / kRows;
#pragma omp parallel for schedule(static) if (m * n * k >= kMinParallelMacs)
  for (int64_t p = 0; p < panels; ++p) {
    const int64_t j0 = p * kRows;
    const int nrows = static_cast<int>(n - j0 < kRows ? n - j0 : kRows);
    // Rows past n repeat the last one (read, never stored).
    const uint8_t* row[kRows];
    alignas(64) int32_t offsets[kRows];
    for (int r = 0; r < kRows; ++r) {
      const int rr = r < nrows ? r : nrows - 1;
      row[r] = w + (j0 + rr) * ldw;
      offsets[r] = static_cast<int32_t>(rr * ldw);
    }
    const __m512i row_offsets = _mm512_load_si512(offsets);
    PackedBlock* panel = static_cast<PackedBlock*>(ThreadScratch(1, blocks * sizeof(PackedBlock)));
    for (int64_t i0 = 0; i0 < m; i0 += kMr) {
      const int mr = static_cast<int>(m - i0 < kMr ? m - i0 : kMr);
      AnyTile<Q>(mr, row, row_offsets, blocks, panel, i0 == 0, xq, i0, bias ? bias + j0 : nullptr,
                 y + j0, n, nrows);
    }
  }
}

}  // namespace

bool Q8MatMulHandles(DType w_dtype) {
  return w_dtype == DType::kQ8_0 || w_dtype == DType::kQ4_0 || w_dtype == DType::kQ6_K;
}

void Q8MatMul(const float* x, const void* w, DType w_dtype, const float* bias, float* y, int64_t m,
              int64_t n, int64_t k) {
  // Decode of one sequence: for one x row, transposing each block costs more than it saves
  // (8192 x 8192, 2 threads: Q8_0 1.31 ms, Q4_0 0.98, against 1.11 for the f32 decoder on the
  // rounded x and 0.68 for the row-major QuantGemv); from two rows on the panels win (2048 x
  // 8192, m = 2: Q8_0 0.34 against 0.42 ms, Q4_0 0.26 against 0.36). Q8_0's f32 decoder already
  // streams at the memory's rate.
  // Q6_K (an output matrix: one row a sequence in decode, the last prompt rows in prefill) has
  // the row-major kernel only; more rows take its f32 decoder on the rounded x.
  if (w_dtype == DType::kQ8_0 && m == 1) {
    return avx512::MatMul(RoundRows(x, 1, k), w, w_dtype, bias, y, 1, n, k);
  }
  if (m == 1) return QuantGemv(x, w, w_dtype, bias, y, n, k);
  if (w_dtype == DType::kQ6_K)
    return avx512::MatMul(RoundRows(x, m, k), w, w_dtype, bias, y, m, n, k);
  const uint8_t* wb = static_cast<const uint8_t*>(w);
  if (w_dtype == DType::kQ8_0) return Q8MatMulTyped<Q8_0>(x, wb, bias, y, m, n, k);
  return Q8MatMulTyped<Q4_0>(x, wb, bias, y, m, n, k);
}

}  // namespace loom::kernels::avx512bf16
