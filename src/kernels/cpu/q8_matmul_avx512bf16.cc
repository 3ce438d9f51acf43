// MatMul for Q8_0 / Q4_0 / Q6_K weights on x rounded to Q8_0 (llama.cpp's vec_dot_type for Q8_0
// and Q4_0; for Q6_K it rounds to Q8_K, the same 8 bits with one scale per 256).
//
// Semantics: y = x' · w^T (+ bias), x' = x rounded through Q8_0 row by row (ref::Quantize then
// Dequantize: blocks of 32, d = max|x| / 127 stored as f16, q = round(x / d)). Each block's
// product sum(q_w q_x) is an exact int32; f32 only accumulates isum * (d_w d_x).
//
// Interleaved weights (kQ4_0x16, kQ8_0x16: kernels/interleaved.h, made at load) take the integer
// path: each 64-byte group holds 4 quants of each of 16 rows, so one vpdpbusd (64 multiply-adds)
// against 4 bytes of x broadcast from memory advances 16 outputs, and the block's 16 scales are one
// vector: per block and x row, 8 vpdpbusd, one convert and one FMA for 16 outputs. Quants are
// stored unsigned (Q8_0: + 128; Q4_0: the raw nibbles, offset 8); starting the int32 sum at
// -offset * sum(q_x) removes the offset exactly. Each row's f32 sum runs block by block in the
// same order whatever the number of rows, so a sequence's results do not depend on its batch.
// Rows of x go in tiles of up to kMr = 16 (a batch of 16 sequences streams the weights from
// memory once: m = 16, 8192 x 2048 Q4_0 0.41-0.51 ms against 0.57-0.61 with tiles of 8); a panel
// of 16 weight rows (k = 8192: 144 KiB of Q4_0) stays in L2 while further tiles run over it.
// The loop over panels and tiles, and the thread split: panel_tiles.h.
//
// Interleaved Q6_K takes q6k_matmul_avx512bf16.cc. Row-major Q8_0 / Q4_0 / Q6_K (shapes that
// interleaved.h does not fit) take avx512::MatMul's f32 decoder on the rounded x.
#include <cstdint>
#include <span>

#include "kernels/cpu/cpu_kernels.h"
#include "kernels/cpu/intrinsics.h"
#include "kernels/cpu/panel_tiles.h"
#include "kernels/cpu/q8_quantize_avx512bf16.h"
#include "kernels/cpu/scratch.h"
#include "kernels/interleaved.h"

namespace loom::kernels::avx512bf16 {
namespace {

using interleaved::kRows;
constexpr int kMr = 16;  // x rows per tile: 16 f32 accumulators (+ 8 int32 a pass)

// x [m, k] rounded through Q8_0: d * q per element (exact in f32: an 11-bit d times a 7-bit q).
const float* RoundRows(const float* x, int64_t m, int64_t k) {
  float* xr = static_cast<float*>(ThreadScratch(static_cast<size_t>(m * k) * sizeof(float)));
  alignas(64) int8_t q[32];
  for (int64_t i = 0; i < m * k; i += 32) {
    float d;
    int32_t sums[2];
    QuantizeBlock(x + i, q, &d, sums);
    for (int v = 0; v < 2; ++v) {
      const __m512i qi =
          _mm512_cvtepi8_epi32(_mm_load_si128(reinterpret_cast<const __m128i*>(q + 16 * v)));
      _mm512_storeu_ps(xr + i + 16 * v, _mm512_mul_ps(_mm512_cvtepi32_ps(qi), _mm512_set1_ps(d)));
    }
  }
  return xr;
}

// Group g of a block's unsigned quants: lane r = row r's quants 4g .. 4g + 3.
struct Q4_0 {
  static constexpr DType kType = DType::kQ4_0x16;
  static constexpr int32_t kOffset = 8;
  static __m512i Group(const uint8_t* q, int g) {
    const __m512i bytes = _mm512_loadu_si512(q + 64 * (g % 4));
    return _mm512_and_si512(g < 4 ? bytes : _mm512_srli_epi16(bytes, 4), _mm512_set1_epi8(0x0F));
  }
};

struct Q8_0 {
  static constexpr DType kType = DType::kQ8_0x16;
  static constexpr int32_t kOffset = 128;
  static __m512i Group(const uint8_t* q, int g) { return _mm512_loadu_si512(q + 64 * g); }
};

// acc[i] += block (quants at q, the 16 rows' scales) · x rows i0 + i (i < R) of a tile of MR
// rows, whose record for this block is at rec. Rows innermost: R independent vpdpbusd chains in
// flight rather than one row's 8 in turn (each waits ~5 cycles for the last); with few rows each
// row's sum is split in kC chains (exact integers: the order does not matter).
template <class Q, int R, int MR>
inline void Pass(const uint8_t* q, __m512 scale, const uint8_t* rec, int i0, __m512* acc) {
  constexpr int kC = R <= 2 ? 2 : 1;
  const auto* xq = reinterpret_cast<const int32_t*>(rec);  // row i's 4-byte group g: 8 i + g
  const auto* corr = reinterpret_cast<const int32_t*>(rec + 32 * MR);
  const auto* xd = reinterpret_cast<const float*>(rec + 36 * MR);
  __m512i isum[kC][R];
  for (int i = 0; i < R; ++i) {
    isum[0][i] = _mm512_set1_epi32(corr[i0 + i]);
    for (int c = 1; c < kC; ++c) isum[c][i] = _mm512_setzero_si512();
  }
  for (int g = 0; g < 8 / kC; ++g) {
    for (int c = 0; c < kC; ++c) {
      const int gc = c * 8 / kC + g;
      const __m512i v = Q::Group(q, gc);
      for (int i = 0; i < R; ++i) {
        isum[c][i] = DpbusdBroadcast(isum[c][i], v, xq + 8 * (i0 + i) + gc);
      }
    }
  }
  for (int i = 0; i < R; ++i) {
    for (int c = 1; c < kC; ++c) isum[0][i] = _mm512_add_epi32(isum[0][i], isum[c][i]);
    const __m512 dd = _mm512_mul_ps(scale, _mm512_set1_ps(xd[i0 + i]));
    acc[i] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(isum[0][i]), dd, acc[i]);
  }
}

// y[MR rows, 16 columns] from one panel (k / 64 units at `panel`) and one x tile (`xt`, k / 32
// records). Up to 16 rows in one pass over the weights, in passes of up to 8 rows per block (the
// second reloads the block's quants from L1), so a batch of 16 sequences streams each weight from
// memory once. prefetch: stream the panel from memory (the first tile) rather than from L2.
template <class Q, int MR>
void Tile(const uint8_t* panel, const uint8_t* xt, int64_t k, bool prefetch, const float* bias,
          float* y, int64_t ldy) {
  constexpr int64_t kUnitBytes = interleaved::UnitBytes(Q::kType);
  constexpr int64_t kQuantBytes = interleaved::BlockQuantBytes(Q::kType);
  constexpr int kPass = MR < 8 ? MR : 8;
  __m512 acc[MR];
  for (int i = 0; i < MR; ++i) acc[i] = _mm512_setzero_ps();
  for (int64_t u = 0; u < k / interleaved::kUnitK; ++u) {
    const uint8_t* unit = panel + u * kUnitBytes;
    if (prefetch) StreamAhead<kUnitBytes>(unit);
    for (int h = 0; h < 2; ++h) {
      const uint8_t* rec = xt + (2 * u + h) * MR * XRecordBytes(1);
      const uint8_t* q = unit + 2 * kRows * 2 + h * kQuantBytes;
      const __m512 scale =
          _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(unit + 32 * h)));
      Pass<Q, kPass, MR>(q, scale, rec, 0, acc);
      if constexpr (MR > kPass) Pass<Q, MR - kPass, MR>(q, scale, rec, kPass, acc + kPass);
    }
  }
  const __m512 bv = bias ? _mm512_loadu_ps(bias) : _mm512_setzero_ps();
  for (int i = 0; i < MR; ++i) _mm512_storeu_ps(y + i * ldy, _mm512_add_ps(acc[i], bv));
}

template <class Q>
void InterleavedMatMuls(const float* x, std::span<const MatMulOut> outs, int64_t m, int64_t k) {
  const uint8_t* xt = QuantizeRows(x, m, k, kMr, Q::kOffset, 1);
  const int64_t panel_bytes = interleaved::PanelBytes(Q::kType, k);
  const int64_t tile_bytes = kMr * k / 32 * XRecordBytes(1);
  ForEachPanelTile<kMr>(m, outs, k, [&](auto rows, const MatMulOut& o, int64_t p, int64_t i0) {
    Tile<Q, rows.value>(static_cast<const uint8_t*>(o.w) + p * panel_bytes,
                        xt + i0 / kMr * tile_bytes, k, i0 == 0,
                        o.bias ? o.bias + p * kRows : nullptr, o.y + i0 * o.n + p * kRows, o.n);
  });
}

}  // namespace

bool Q8MatMulHandles(DType w_dtype) {
  return w_dtype == DType::kQ8_0 || w_dtype == DType::kQ4_0 || w_dtype == DType::kQ6_K;
}

void Q8MatMul(const float* x, const void* w, DType w_dtype, const float* bias, float* y, int64_t m,
              int64_t n, int64_t k) {
  avx512::MatMul(RoundRows(x, m, k), w, w_dtype, bias, y, m, n, k);
}

void Q8InterleavedMatMuls(const float* x, std::span<const MatMulOut> outs, int64_t m, int64_t k) {
  if (outs[0].w_dtype == DType::kQ4_0x16) return InterleavedMatMuls<Q4_0>(x, outs, m, k);
  InterleavedMatMuls<Q8_0>(x, outs, m, k);
}

}  // namespace loom::kernels::avx512bf16
