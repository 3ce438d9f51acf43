// MatMul of one x row (decode of one sequence) by Q6_K weights, x rounded to Q8_0: the semantics
// of q8_matmul_avx512bf16.cc, reading w row-major as stored. Q6_K is the output matrix of most
// llama.cpp quantizations (Q4_0, Q4_K_M files), one per token; its f32 decoder took ~9% of a
// Q4_0 model's decode (32000 x 2048: 1.46 ms, this kernel 0.80).
//
// A super-block's 6-bit quants are assembled in registers, 64 at a time, and multiplied against
// 64 x quants by one vpdpbusd, which starts from -32 * (the lane's 4 x quants) so the quants'
// offset cancels exactly; the int32 lanes are converted to f32 and multiplied by d * scale of
// their 16 weights and by x's d. x's per-pair data (quants, corrections, scales) is built once per
// call and stays in L1.
//
// Tiles of 4 weight rows, prefetching the same bytes of the next tile's rows (the hardware
// prefetcher stops at each 4 KiB page). Threads split the rows statically: each streams one
// contiguous half of w (handing out 64 KiB pieces dynamically decoded 25% fewer tokens/s).
#include <cstdint>
#include <cstring>

#include "kernels/cpu/cpu_kernels.h"
#include "kernels/cpu/intrinsics.h"
#include "kernels/cpu/q8_quantize_avx512bf16.h"
#include "kernels/cpu/scratch.h"

namespace loom::kernels::avx512bf16 {
namespace {

constexpr int kNr = 4;       // weight rows per tile
constexpr int64_t kNb = 16;  // weight rows per task
constexpr int64_t kMinParallelMacs = int64_t{1} << 17;

// Blocks 2p and 2p + 1 of an x row.
struct XPair {
  __m512i q;     // the 64 quants
  __m512i corr;  // int32 lane l: -offset * (sum of the 4 quants lane l multiplies)
  __m512 d;      // lanes 0-7: block 2p's d, 8-15: block 2p + 1's
};

XPair* QuantizePairs(const float* x, int64_t k, int offset) {
  const int64_t pairs = k / 64;
  XPair* xp = static_cast<XPair*>(ThreadScratch(0, static_cast<size_t>(pairs) * sizeof(XPair)));
  const __m512i off = _mm512_set1_epi8(static_cast<char>(offset));  // as unsigned bytes
  for (int64_t p = 0; p < pairs; ++p) {
    alignas(64) int8_t q[64];
    float d[2];
    int32_t sum;
    for (int h = 0; h < 2; ++h) QuantizeBlock(x + 32 * (2 * p + h), q + 32 * h, &d[h], &sum);
    XPair& o = xp[p];
    o.q = _mm512_load_si512(q);
    o.corr = _mm512_sub_epi32(_mm512_setzero_si512(),
                              _mm512_dpbusd_epi32(_mm512_setzero_si512(), off, o.q));
    o.d = _mm512_insertf32x8(_mm512_set1_ps(d[0]), _mm256_set1_ps(d[1]), 1);
  }
  return xp;
}

inline uint16_t LoadU16(const uint8_t* p) {
  uint16_t v;
  std::memcpy(&v, p, 2);
  return v;
}

// Q6_K (ql[128], qh[64], int8 scales[16], f16 d per 256 weights; weight = d * scale[e / 16] *
// (q - 32), q 6-bit): a unit is a super-block, four x pairs. Per half of 128 weights, the 64 ql
// bytes' low nibbles hold weights 0-63 and their high nibbles 64-127; the 32 qh bytes give each
// its top 2 bits (shifts 0, 2, 4, 6 for weights 0-31, 32-63, 64-95, 96-127). The unsigned quant
// is q (offset 32). Lane l of vector v (weights 64 v .. 64 v + 63) holds weights 64 v + 4 l ..,
// so its scale is scale[4 v + l / 4].
struct Q6_K {
  static constexpr int64_t kBytes = 210;
  static constexpr int kOffset = 32;
  static int64_t RowBytes(int64_t k) { return k / 256 * kBytes; }
  static int64_t Units(int64_t k) { return k / 256; }
  static int64_t UnitBytes() { return kBytes; }
  static __m512 Accumulate(__m512 acc, const uint8_t* row, int64_t u, int64_t /*blocks*/,
                           const XPair* xp) {
    const uint8_t* p = row + u * kBytes;
    const __m512 scales = _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_loadu_si128(
                                            reinterpret_cast<const __m128i*>(p + 192)))),
                                        _mm512_set1_ps(_cvtsh_ss(LoadU16(p + 208))));
    const __m512i low4 = _mm512_set1_epi8(0x0F), low2 = _mm512_set1_epi8(0x03);
    for (int half = 0; half < 2; ++half) {
      const __m512i ql = _mm512_loadu_si512(p + 64 * half);
      const __m512i qh = _mm512_broadcast_i64x4(
          _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + 128 + 32 * half)));
      // Top bits: the 2-bit field, masked after the 64-bit shift (bits from the next byte fall
      // outside it), moved to bits 4-5.
      const auto top = [&](__m512i shifts) {
        return _mm512_slli_epi64(_mm512_and_si512(_mm512_srlv_epi64(qh, shifts), low2), 4);
      };
      const __m512i q[2] = {
          _mm512_or_si512(_mm512_and_si512(ql, low4),
                          top(_mm512_setr_epi64(0, 0, 0, 0, 2, 2, 2, 2))),
          _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi16(ql, 4), low4),
                          top(_mm512_setr_epi64(4, 4, 4, 4, 6, 6, 6, 6))),
      };
      for (int h = 0; h < 2; ++h) {
        const int v = 2 * half + h;
        const XPair& x = xp[4 * u + v];
        const __m512i isum = _mm512_dpbusd_epi32(x.corr, q[h], x.q);
        const __m512i idx =
            _mm512_add_epi32(_mm512_set1_epi32(4 * v),
                             _mm512_setr_epi32(0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3));
        acc = _mm512_fmadd_ps(_mm512_cvtepi32_ps(isum),
                              _mm512_mul_ps(_mm512_permutexvar_ps(idx, scales), x.d), acc);
      }
    }
    return acc;
  }
};

// y[j] = x · w row j (+ bias[j]) for j < NR; w rows ldw bytes apart.
template <class Q, int NR>
void Tile(const XPair* xp, int64_t blocks, const uint8_t* w, int64_t ldw, const float* bias,
          float* y) {
  __m512 acc[NR];
  for (int j = 0; j < NR; ++j) acc[j] = _mm512_setzero_ps();
  const int64_t units = Q::Units(blocks * 32);
  for (int64_t u = 0; u < units; ++u) {
    for (int j = 0; j < NR; ++j) {
      const uint8_t* row = w + j * ldw;
      for (int64_t off = 0; off < Q::UnitBytes(); off += 64) {
        _mm_prefetch(reinterpret_cast<const char*>(reinterpret_cast<uintptr_t>(row) +
                                                   u * Q::UnitBytes() + off + NR * ldw),
                     _MM_HINT_T0);
      }
      acc[j] = Q::Accumulate(acc[j], row, u, blocks, xp);
    }
  }
  for (int j = 0; j < NR; ++j) y[j] = _mm512_reduce_add_ps(acc[j]) + (bias ? bias[j] : 0.0f);
}

template <class Q>
void AnyTile(int nr, const XPair* xp, int64_t blocks, const uint8_t* w, int64_t ldw,
             const float* bias, float* y) {
  switch (nr) {
    case 1:
      return Tile<Q, 1>(xp, blocks, w, ldw, bias, y);
    case 2:
      return Tile<Q, 2>(xp, blocks, w, ldw, bias, y);
    case 3:
      return Tile<Q, 3>(xp, blocks, w, ldw, bias, y);
    default:
      return Tile<Q, 4>(xp, blocks, w, ldw, bias, y);
  }
}

template <class Q>
void GemvTyped(const float* x, const uint8_t* w, const float* bias, float* y, int64_t n,
               int64_t k) {
  const int64_t blocks = k / 32;
  const int64_t ldw = Q::RowBytes(k);
  const XPair* xp = QuantizePairs(x, k, Q::kOffset);
  const int64_t tasks = (n + kNb - 1) / kNb;
#pragma omp parallel for schedule(static) if (n * k >= kMinParallelMacs)
  for (int64_t t = 0; t < tasks; ++t) {
    const int64_t j1 = n < (t + 1) * kNb ? n : (t + 1) * kNb;
    for (int64_t j = t * kNb; j < j1; j += kNr) {
      const int nr = static_cast<int>(j1 - j < kNr ? j1 - j : kNr);
      AnyTile<Q>(nr, xp, blocks, w + j * ldw, ldw, bias ? bias + j : nullptr, y + j);
    }
  }
}

}  // namespace

void QuantGemv(const float* x, const void* w, DType w_dtype, const float* bias, float* y, int64_t n,
               int64_t k) {
  GemvTyped<Q6_K>(x, static_cast<const uint8_t*>(w), bias, y, n, k);
}

}  // namespace loom::kernels::avx512bf16
