// Activations rounded to Q8_0 for the VNNI matmuls (q8_matmul_avx512bf16.cc,
// q8_gemv_avx512bf16.cc). Include only from translation units built with the avx512bf16 flags.
#pragma once

#include <cstdint>

#include "kernels/cpu/intrinsics.h"

namespace loom::kernels::avx512bf16 {

// ref::Quantize(Q8_0) of x[0, 32), bit for bit: amax / 127 rounded to f16 (nearest even, as
// F32ToF16), q = x * (1 / d) rounded half away from zero (roundf).
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
  *s_out = _mm512_reduce_add_epi32(_mm512_add_epi32(qi[0], qi[1]));
}

}  // namespace loom::kernels::avx512bf16
