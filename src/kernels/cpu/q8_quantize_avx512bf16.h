// Activations rounded to Q8_0 for the VNNI matmuls (q8_matmul_avx512bf16.cc,
// q6k_matmul_avx512bf16.cc), and the x side of their tiles. Include only from translation units
// built with the avx512bf16 flags.
#pragma once

#include <cstdint>

#include "kernels/cpu/intrinsics.h"
#include "kernels/cpu/scratch.h"

namespace loom::kernels::avx512bf16 {

// ref::Quantize(Q8_0) of x[0, 32), bit for bit: amax / 127 rounded to f16 (nearest even, as
// F32ToF16), q = x * (1 / d) rounded half away from zero (roundf). s_out[h]: the sum of q[16 h ..
// 16 h + 15].
inline void QuantizeBlock(const float* x, int8_t* q, float* d_out, int32_t* s_out) {
  const __m512 a = _mm512_loadu_ps(x), b = _mm512_loadu_ps(x + 16);
  const float amax = _mm512_reduce_max_ps(_mm512_max_ps(_mm512_abs_ps(a), _mm512_abs_ps(b)));
  const float d = amax / 127.0f;
  const float id = d != 0.0f ? 1.0f / d : 0.0f;
  const uint16_t h = _cvtss_sh(d, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  *d_out = _cvtsh_ss(h);
  const __m512 vid = _mm512_set1_ps(id);
  const __m512 sign = _mm512_set1_ps(-0.0f);
  __m512i qi[2];
  for (int v = 0; v < 2; ++v) {
    const __m512 s = _mm512_mul_ps(v == 0 ? a : b, vid);
    const __m512 t = _mm512_roundscale_ps(s, _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC);
    const __mmask16 up =
        _mm512_cmp_ps_mask(_mm512_abs_ps(_mm512_sub_ps(s, t)), _mm512_set1_ps(0.5f), _CMP_GE_OQ);
    const __m512 one = _mm512_or_ps(_mm512_and_ps(s, sign), _mm512_set1_ps(1.0f));  // ±1
    qi[v] = _mm512_cvttps_epi32(_mm512_mask_add_ps(t, up, t, one));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(q + 16 * v), _mm512_cvtepi32_epi8(qi[v]));
  }
  s_out[0] = _mm512_reduce_add_epi32(qi[0]);
  s_out[1] = _mm512_reduce_add_epi32(qi[1]);
}

// x rows rounded to Q8_0, laid out for tiles of up to `tile` rows (the last may have fewer, mr):
// per tile and block of 32 columns one record of mr * XRecordBytes(cpb) bytes,
//   int8 q[mr][32] | int32 corr[mr][cpb] | f32 d[mr] (the f16 scale widened),
// corr = -offset * (sum of q) over the block (cpb = 1) or each half (cpb = 2: weights with a scale
// per 16). A tile finds everything of block b at one pointer plus constants: with per-row arrays,
// the address arithmetic of 8 rows had cost more instructions than the vpdpbusd. Tile t (rows
// tile * t ..) starts at t * tile * (k / 32) * XRecordBytes(cpb). In ThreadScratch.
constexpr int64_t XRecordBytes(int cpb) { return 32 + 4 * cpb + 4; }

inline const uint8_t* QuantizeRows(const float* x, int64_t m, int64_t k, int tile, int32_t offset,
                                   int cpb) {
  const int64_t blocks = k / 32, rec_bytes = XRecordBytes(cpb);
  uint8_t* xt = static_cast<uint8_t*>(ThreadScratch(static_cast<size_t>(m * blocks * rec_bytes)));
#pragma omp parallel for schedule(static) if (m * k >= (int64_t{1} << 16))
  for (int64_t i = 0; i < m; ++i) {
    const int64_t t = i / tile, r = i % tile, mr = m - tile * t < tile ? m - tile * t : tile;
    uint8_t* tile_x = xt + t * tile * blocks * rec_bytes;
    for (int64_t b = 0; b < blocks; ++b) {
      uint8_t* rec = tile_x + b * mr * rec_bytes;
      int32_t sums[2];
      QuantizeBlock(x + i * k + 32 * b, reinterpret_cast<int8_t*>(rec + 32 * r),
                    reinterpret_cast<float*>(rec + (32 + 4 * cpb) * mr) + r, sums);
      int32_t* corr = reinterpret_cast<int32_t*>(rec + 32 * mr) + cpb * r;
      if (cpb == 1) {
        corr[0] = -offset * (sums[0] + sums[1]);
      } else {
        corr[0] = -offset * sums[0];
        corr[1] = -offset * sums[1];
      }
    }
  }
  return xt;
}

// acc + a · (4 bytes at x, broadcast): vpdpbusd with its {1to16} memory form, one instruction
// where GCC 12 emits a separate vpbroadcastd for _mm512_set1_epi32.
inline __m512i DpbusdBroadcast(__m512i acc, __m512i a, const int32_t* x) {
  asm("vpdpbusd %2%{1to16%}, %1, %0" : "+v"(acc) : "v"(a), "m"(*x));
  return acc;
}

}  // namespace loom::kernels::avx512bf16
