// MatMul for Q6_K weights interleaved 16 rows at a time (DType::kQ6_Kx16, kernels/interleaved.h)
// on x rounded to Q8_0: the semantics of q8_matmul_avx512bf16.cc for llama.cpp's usual output
// matrix (weight = d * scale[j] * (q - 32), q 6-bit, j the sub-block of 16 columns).
//
// Per sub-block, 4 vpdpbusd with x broadcast from memory advance 16 rows: each 64-byte group's
// 6-bit quants are a nibble and a 2-bit field of the layout away. The int32 sums, started at -32 *
// (the sub-block's x quants) so the offset cancels, are multiplied by the 16 rows' int8 scales
// (vpmulld) and the two sub-blocks of one x block added; f32 then accumulates that exact integer
// (|sum| < 2^24) times d * d_x. Each row's sum runs in the same order for every m, so results do
// not depend on the batch. Without the layout, one x row took a row-major kernel and several the
// f32 decoder (22% of a batch-16 step of a Q4_0 model).
//
// Tiles of up to kMr x rows (8 f32 + 8 int32 + 8 int32 registers), driven by panel_tiles.h.
#include <cstdint>
#include <span>

#include "kernels/cpu/cpu_kernels.h"
#include "kernels/cpu/intrinsics.h"
#include "kernels/cpu/panel_tiles.h"
#include "kernels/cpu/q8_quantize_avx512bf16.h"
#include "kernels/interleaved.h"

namespace loom::kernels::avx512bf16 {
namespace {

using interleaved::kRows;
constexpr int kMr = 8;
constexpr int kCpb = 2;  // x corrections per block: one per sub-block of 16
constexpr int64_t kRecBytes = XRecordBytes(kCpb);
constexpr int64_t kSuperBytes = kRows * 210;  // 16 rows of a 256-column super-block
constexpr int32_t kOffset = 32;

// Group g (columns 4g .. 4g + 3) of super-block `sb`: lane r = row r's unsigned 6-bit quants.
// Group g (columns 4g .. 4g + 3) of super-block `sb`, g in quarter Q (16 Q .. 16 Q + 15): lane r =
// row r's unsigned 6-bit quants. 1-3 vector operations (a compile-time Q): the low nibble needs a
// shift in quarters 2-3, the 2-bit field one outside quarter 0 (16-bit shifts; what crosses a
// byte is masked off), and one ternary-logic op keeps bits 0-3 of one and bits 4-5 of the other.
template <int Q>
inline __m512i Group(const uint8_t* sb, int g) {
  __m512i low = _mm512_loadu_si512(sb + 288 + 64 * (g % 32));
  __m512i top = _mm512_loadu_si512(sb + 2336 + 64 * (g % 16));
  if constexpr (Q >= 2) low = _mm512_srli_epi16(low, 4);
  if constexpr (Q == 1) top = _mm512_srli_epi16(top, 2);
  if constexpr (Q == 2) top = _mm512_slli_epi16(top, 4);
  if constexpr (Q == 3) top = _mm512_slli_epi16(top, 2);
  top = _mm512_and_si512(top, _mm512_set1_epi8(0x30));
  return _mm512_ternarylogic_epi32(low, top, _mm512_set1_epi8(0x0F), 0xE4);  // c ? low : top
}

// acc[i] += quarter Q of super-block sb (sub-blocks 4Q .. 4Q + 3 = x blocks 2Q, 2Q + 1; d: the 16
// rows' scales) times the tile's x, whose records for the super-block start at xs.
template <int Q, int MR>
inline void Quarter(const uint8_t* sb, __m512 d, const uint8_t* xs, __m512* acc) {
  // Unrolled whole, so every group's offsets and shifts are constants (as loops, the address
  // arithmetic took more instructions than the vector work).
#pragma GCC unroll 2
  for (int b = 2 * Q; b < 2 * Q + 2; ++b) {  // x block b: sub-blocks 2b and 2b + 1
    const uint8_t* rec = xs + b * MR * kRecBytes;
    const auto* xq = reinterpret_cast<const int32_t*>(rec);  // row i's 4-byte group: 8 i + ..
    const auto* corr = reinterpret_cast<const int32_t*>(rec + 32 * MR);
    const auto* xd = reinterpret_cast<const float*>(rec + (32 + 4 * kCpb) * MR);
    __m512i iacc[MR];
#pragma GCC unroll 2
    for (int h = 0; h < 2; ++h) {
      const int j = 2 * b + h;
      const __m512i scale =
          _mm512_cvtepi8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(sb + 32 + 16 * j)));
      __m512i isum[MR];
      for (int i = 0; i < MR; ++i) isum[i] = _mm512_set1_epi32(corr[kCpb * i + h]);
#pragma GCC unroll 4
      for (int gg = 0; gg < 4; ++gg) {
        const __m512i v = Group<Q>(sb, 4 * j + gg);
        for (int i = 0; i < MR; ++i) isum[i] = DpbusdBroadcast(isum[i], v, xq + 8 * i + 4 * h + gg);
      }
      for (int i = 0; i < MR; ++i) {
        const __m512i p = _mm512_mullo_epi32(isum[i], scale);
        iacc[i] = h == 0 ? p : _mm512_add_epi32(iacc[i], p);
      }
    }
    for (int i = 0; i < MR; ++i) {
      acc[i] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(iacc[i]), _mm512_mul_ps(d, _mm512_set1_ps(xd[i])),
                               acc[i]);
    }
  }
}

// y[MR rows, 16 columns] from one panel (k / 256 super-blocks at `panel`) and one x tile.
template <int MR>
void Tile(const uint8_t* panel, const uint8_t* xt, int64_t k, bool prefetch, const float* bias,
          float* y, int64_t ldy) {
  __m512 acc[MR];
  for (int i = 0; i < MR; ++i) acc[i] = _mm512_setzero_ps();
  for (int64_t s = 0; s < k / 256; ++s) {
    const uint8_t* sb = panel + s * kSuperBytes;
    if (prefetch) StreamAhead<(kSuperBytes + 63) / 64 * 64>(sb);
    const uint8_t* xs = xt + 8 * s * MR * kRecBytes;
    const __m512 d = _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(sb)));
    Quarter<0, MR>(sb, d, xs, acc);
    Quarter<1, MR>(sb, d, xs, acc);
    Quarter<2, MR>(sb, d, xs, acc);
    Quarter<3, MR>(sb, d, xs, acc);
  }
  const __m512 bv = bias ? _mm512_loadu_ps(bias) : _mm512_setzero_ps();
  for (int i = 0; i < MR; ++i) _mm512_storeu_ps(y + i * ldy, _mm512_add_ps(acc[i], bv));
}

}  // namespace

void Q6KMatMuls(const float* x, std::span<const MatMulOut> outs, int64_t m, int64_t k) {
  const uint8_t* xt = QuantizeRows(x, m, k, kMr, kOffset, kCpb);
  const int64_t panel_bytes = interleaved::PanelBytes(DType::kQ6_Kx16, k);
  const int64_t tile_bytes = kMr * k / 32 * kRecBytes;
  ForEachPanelTile<kMr>(m, outs, k, [&](auto rows, const MatMulOut& o, int64_t p, int64_t i0) {
    Tile<rows.value>(static_cast<const uint8_t*>(o.w) + p * panel_bytes, xt + i0 / kMr * tile_bytes,
                     k, i0 == 0, o.bias ? o.bias + p * kRows : nullptr, o.y + i0 * o.n + p * kRows,
                     o.n);
  });
}

}  // namespace loom::kernels::avx512bf16
