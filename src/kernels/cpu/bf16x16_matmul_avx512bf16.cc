// MatMul for bf16 weights interleaved 16 rows at a time (DType::kBF16x16, kernels/interleaved.h)
// on x rounded to bf16: the semantics of matmul_avx512bf16.cc (y = x' · w^T + bias, x' = x
// rounded to bf16, nearest even; each vdpbf16ps adds two exact products per lane to f32).
//
// Each 64-byte group holds one column pair of 16 rows, so one vdpbf16ps against x's pair
// broadcast from memory advances 16 outputs, with no reductions across lanes; a thread streams
// its panels as one sequential run of memory. Row-major bf16 read as 4-row tiles streamed at 29
// GB/s on one core (8192 x 8192, m = 1), four page-strided streams the hardware prefetcher
// follows poorly.
//
// Rows of x go in tiles of up to kMr, x stored per tile and column pair (the tile's kMr pairs
// together: one pointer per tile, as q8_matmul_avx512bf16.cc); a panel (16 rows x k, 64 KiB at
// k = 2048) stays in L2 while the tiles run over it (the loop: panel_tiles.h).
#include <cstdint>
#include <cstring>
#include <span>

#include "kernels/cpu/cpu_kernels.h"
#include "kernels/cpu/intrinsics.h"
#include "kernels/cpu/panel_tiles.h"
#include "kernels/cpu/scratch.h"
#include "kernels/interleaved.h"

namespace loom::kernels::avx512bf16 {
namespace {

using interleaved::kRows;
constexpr int kMr = 8;  // x rows per tile

// x [m, k] rounded to bf16 in tile records: tile t (rows kMr t .., mr of them) starts at pair
// t * kMr * k / 2, and its pair g of row r is the 4 bytes at pair index g * mr + r.
const uint32_t* RoundRowsToTiles(const float* x, int64_t m, int64_t k) {
  uint32_t* xt = static_cast<uint32_t*>(ThreadScratch(static_cast<size_t>(m * k * 2)));
#pragma omp parallel for schedule(static) if (m * k >= (int64_t{1} << 16))
  for (int64_t i = 0; i < m; ++i) {
    const int64_t t = i / kMr, r = i % kMr, mr = m - kMr * t < kMr ? m - kMr * t : kMr;
    uint32_t* tile = xt + t * kMr * k / 2;
    for (int64_t g0 = 0; g0 < k / 2; g0 += 16) {
      const int64_t pairs = k / 2 - g0 < 16 ? k / 2 - g0 : 16;
      const __mmask16 lo = static_cast<__mmask16>(pairs >= 8 ? 0xFFFF : (1u << (2 * pairs)) - 1);
      const __mmask16 hi = static_cast<__mmask16>(pairs <= 8    ? 0
                                                  : pairs >= 16 ? 0xFFFF
                                                                : (1u << (2 * pairs - 16)) - 1);
      const float* src = x + i * k + 2 * g0;
      alignas(64) uint32_t packed[16];
      _mm512_store_si512(
          packed, reinterpret_cast<__m512i>(_mm512_cvtne2ps_pbh(_mm512_maskz_loadu_ps(hi, src + 16),
                                                                _mm512_maskz_loadu_ps(lo, src))));
      for (int64_t g = 0; g < pairs; ++g) tile[(g0 + g) * mr + r] = packed[g];
    }
  }
  return xt;
}

// acc + w · (x's pair at p, broadcast).
inline __m512 DpbfBroadcast(__m512 acc, __m512 w, const uint32_t* p) {
  return _mm512_dpbf16_ps(acc, reinterpret_cast<__m512bh>(w),
                          reinterpret_cast<__m512bh>(_mm512_set1_epi32(static_cast<int>(*p))));
}

// y[MR rows, 16 columns] from one panel (k / 2 groups at `panel`) and one x tile.
template <int MR>
void Tile(const uint16_t* panel, const uint32_t* xt, int64_t k, bool prefetch, const float* bias,
          float* y, int64_t ldy) {
  // Independent vdpbf16ps chains (each waits ~6 cycles for the last): MR rows, each row's sum split
  // in kC chains by column pair. kC is the same for every MR, so a row's sum, f32 and rounded
  // at each step, never depends on how many rows share its tile (a request's tokens do not change
  // with the batch it runs in).
  constexpr int kC = 2;
  __m512 acc[kC][MR];
  for (int c = 0; c < kC; ++c) {
    for (int i = 0; i < MR; ++i) acc[c][i] = _mm512_setzero_ps();
  }
  const int64_t groups = k / 2;
  int64_t g = 0;
  for (; g + kC <= groups; g += kC) {
    if (prefetch) StreamAhead<64 * kC>(panel + 32 * g);
    for (int c = 0; c < kC; ++c) {
      const __m512 w = _mm512_castsi512_ps(_mm512_loadu_si512(panel + 32 * (g + c)));
      for (int i = 0; i < MR; ++i) acc[c][i] = DpbfBroadcast(acc[c][i], w, xt + (g + c) * MR + i);
    }
  }
  for (; g < groups; ++g) {  // k / 2 not a multiple of kC
    const __m512 w = _mm512_castsi512_ps(_mm512_loadu_si512(panel + 32 * g));
    for (int i = 0; i < MR; ++i) acc[0][i] = DpbfBroadcast(acc[0][i], w, xt + g * MR + i);
  }
  const __m512 bv = bias ? _mm512_loadu_ps(bias) : _mm512_setzero_ps();
  for (int i = 0; i < MR; ++i) {
    __m512 sum = acc[0][i];
    for (int c = 1; c < kC; ++c) sum = _mm512_add_ps(sum, acc[c][i]);
    _mm512_storeu_ps(y + i * ldy, _mm512_add_ps(sum, bv));
  }
}

}  // namespace

void Bf16x16MatMuls(const float* x, std::span<const MatMulOut> outs, int64_t m, int64_t k) {
  const uint32_t* xt = RoundRowsToTiles(x, m, k);
  ForEachPanelTile<kMr>(m, outs, k, [&](auto rows, const MatMulOut& o, int64_t p, int64_t i0) {
    Tile<rows.value>(static_cast<const uint16_t*>(o.w) + p * kRows * k, xt + i0 * k / 2, k, i0 == 0,
                     o.bias ? o.bias + p * kRows : nullptr, o.y + i0 * o.n + p * kRows, o.n);
  });
}

}  // namespace loom::kernels::avx512bf16
