// AVX-512 vector layer for the shared kernel bodies (*_impl.h): 16 f32 lanes, masked tails.
// Include only from translation units built with the AVX-512 flags (kernels/CMakeLists.txt).
// Everything lives in namespace avx512, so no symbol is shared with the AVX2 build.
#pragma once

#include <cstdint>

#include "kernels/cpu/intrinsics.h"

namespace loom::kernels::avx512 {

using VF = __m512;
inline constexpr int64_t kLanes = 16;

// Lanes [0, n) set; n in [0, kLanes].
inline __mmask16 TailMask(int64_t n) { return static_cast<__mmask16>((1u << n) - 1u); }

inline VF Zero() { return _mm512_setzero_ps(); }
inline VF Set1(float v) { return _mm512_set1_ps(v); }
inline VF Load(const float* p) { return _mm512_loadu_ps(p); }
// First n lanes from p, the rest 0 (masked: never touches memory past p + n).
inline VF LoadN(const float* p, int64_t n) { return _mm512_maskz_loadu_ps(TailMask(n), p); }
// First n lanes from p, the rest `fill`.
inline VF LoadNFill(const float* p, int64_t n, float fill) {
  return _mm512_mask_loadu_ps(_mm512_set1_ps(fill), TailMask(n), p);
}
inline void Store(float* p, VF v) { _mm512_storeu_ps(p, v); }
inline void StoreN(float* p, VF v, int64_t n) { _mm512_mask_storeu_ps(p, TailMask(n), v); }

inline VF Add(VF a, VF b) { return _mm512_add_ps(a, b); }
inline VF Sub(VF a, VF b) { return _mm512_sub_ps(a, b); }
inline VF Mul(VF a, VF b) { return _mm512_mul_ps(a, b); }
inline VF Div(VF a, VF b) { return _mm512_div_ps(a, b); }
inline VF MulAdd(VF a, VF b, VF c) { return _mm512_fmadd_ps(a, b, c); }      // a * b + c
inline VF NegMulAdd(VF a, VF b, VF c) { return _mm512_fnmadd_ps(a, b, c); }  // c - a * b
// Like the instructions, these return `b` if either operand is NaN: Min(bound, x) keeps a NaN x.
inline VF Min(VF a, VF b) { return _mm512_min_ps(a, b); }
inline VF Max(VF a, VF b) { return _mm512_max_ps(a, b); }
inline float ReduceAdd(VF v) { return _mm512_reduce_add_ps(v); }
inline float ReduceMax(VF v) { return _mm512_reduce_max_ps(v); }

// Lane t = the sum of v[t]'s lanes, t < kLanes: a transpose-and-add tree, ~45 instructions for 16
// sums where 16 separate reductions take ~130. Every lane's sum runs in the same order: ((e0 +
// e2) + (e1 + e3)) within each 128-bit block, then (b0 + b1) + (b2 + b3) over the blocks.
inline VF ReduceLanes(const VF* v) {
  __m512 s1[8], s2[4], u[2];
  for (int p = 0; p < 8; ++p) {  // per 128-bit block: [a0+a2, b0+b2, a1+a3, b1+b3]
    s1[p] = _mm512_add_ps(_mm512_unpacklo_ps(v[2 * p], v[2 * p + 1]),
                          _mm512_unpackhi_ps(v[2 * p], v[2 * p + 1]));
  }
  for (int q = 0; q < 4; ++q) {  // per block: one partial sum of each of v[4q .. 4q + 3]
    const __m512d a = _mm512_castps_pd(s1[2 * q]), b = _mm512_castps_pd(s1[2 * q + 1]);
    s2[q] = _mm512_add_ps(_mm512_castpd_ps(_mm512_unpacklo_pd(a, b)),
                          _mm512_castpd_ps(_mm512_unpackhi_pd(a, b)));
  }
  for (int h = 0; h < 2; ++h) {  // blocks (0 + 1, 2 + 3) of s2[2h] and of s2[2h + 1]
    u[h] = _mm512_add_ps(_mm512_shuffle_f32x4(s2[2 * h], s2[2 * h + 1], 0x88),
                         _mm512_shuffle_f32x4(s2[2 * h], s2[2 * h + 1], 0xDD));
  }
  return _mm512_add_ps(_mm512_shuffle_f32x4(u[0], u[1], 0x88),
                       _mm512_shuffle_f32x4(u[0], u[1], 0xDD));
}

// Prefetch into L1 the line `bytes` past p. Integer arithmetic: the target may lie past the end
// of p's array (prefetches never fault), which pointer arithmetic must not express.
inline void PrefetchAhead(const void* p, int64_t bytes) {
  _mm_prefetch(reinterpret_cast<const char*>(reinterpret_cast<uintptr_t>(p) + bytes), _MM_HINT_T0);
}

// exp(x), Cephes expf: n = round(x log2 e), r = x - n ln 2 in two parts (|r| <= ln2/2), degree-6
// polynomial for e^r (~1-2 ulp), then scalef by 2^n, which also produces correct subnormals,
// 0 and inf. The clamp keeps n finite; exp overflows above 88.73 and is 0 below -103.98.
inline VF Exp(VF x) {
  x = Max(Set1(-110.0f), Min(Set1(89.0f), x));
  const VF n = _mm512_roundscale_ps(Mul(x, Set1(1.44269504088896341f)),
                                    _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  VF r = NegMulAdd(n, Set1(0.693359375f), x);
  r = NegMulAdd(n, Set1(-2.12194440e-4f), r);
  VF p = Set1(1.9875691500e-4f);
  p = MulAdd(p, r, Set1(1.3981999507e-3f));
  p = MulAdd(p, r, Set1(8.3334519073e-3f));
  p = MulAdd(p, r, Set1(4.1665795894e-2f));
  p = MulAdd(p, r, Set1(1.6666665459e-1f));
  p = MulAdd(p, r, Set1(5.0000001201e-1f));
  p = MulAdd(p, Mul(r, r), Add(r, Set1(1.0f)));
  return _mm512_scalef_ps(p, n);
}

// Integer lanes for decoding block-quantized weights (quant_matmul_impl.h): kLanes int32 lanes.
using VI = __m512i;
inline VI SetI(int32_t v) { return _mm512_set1_epi32(v); }
inline VI LaneIndex() {
  return _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
}
// kLanes bytes from p, zero- / sign-extended to int32 lanes.
inline VI LoadU8(const uint8_t* p) {
  return _mm512_cvtepu8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
}
inline VI LoadI8(const int8_t* p) {
  return _mm512_cvtepi8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
}
inline VI AndI(VI a, VI b) { return _mm512_and_si512(a, b); }
inline VI OrI(VI a, VI b) { return _mm512_or_si512(a, b); }
inline VI AddI(VI a, VI b) { return _mm512_add_epi32(a, b); }
inline VI SubI(VI a, VI b) { return _mm512_sub_epi32(a, b); }
inline VI ShiftLeftI(VI a, int s) { return _mm512_sll_epi32(a, _mm_cvtsi32_si128(s)); }
inline VI ShiftRightI(VI a, int s) { return _mm512_srl_epi32(a, _mm_cvtsi32_si128(s)); }
inline VI ShiftRightV(VI a, VI s) { return _mm512_srlv_epi32(a, s); }  // per-lane counts
inline VF ToFloat(VI a) { return _mm512_cvtepi32_ps(a); }              // exact below 2^24

// A 16-entry f32 table indexed by the low 4 bits of each lane: one vpermps per lookup.
struct Lut16 {
  VF t;
};
// Lut16 of f(i) for i = 0..15; f maps a vector of i values (as floats) to the entries.
template <class F>
Lut16 MakeLut16(F f) {
  return {f(_mm512_setr_ps(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15))};
}
inline VF Lookup(const Lut16& lut, VI idx) { return _mm512_permutexvar_ps(idx, lut.t); }
// An 8-entry table indexed by the low 3 bits of each lane (bit 3 and up ignored): the entries
// twice over, so one vpermps still serves.
struct Lut8 {
  VF t;
};
template <class F>
Lut8 MakeLut8(F f) {
  return {f(_mm512_setr_ps(0, 1, 2, 3, 4, 5, 6, 7, 0, 1, 2, 3, 4, 5, 6, 7))};
}
inline VF Lookup(const Lut8& lut, VI idx) { return _mm512_permutexvar_ps(idx, lut.t); }

// IEEE f16 -> f32, exact (F16C).
inline float HalfToFloat(uint16_t h) { return _cvtsh_ss(h); }

// Weight loaders: kLanes consecutive weights widened to f32 (exact for f16 and bf16).
struct WeightF32 {
  using T = float;
  static VF Load(const T* p) { return _mm512_loadu_ps(p); }
  static VF LoadN(const T* p, int64_t n) { return _mm512_maskz_loadu_ps(TailMask(n), p); }
};
struct WeightBF16 {
  using T = uint16_t;
  static VF Widen(__m256i h) {
    return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
  }
  static VF Load(const T* p) {
    return Widen(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)));
  }
  static VF LoadN(const T* p, int64_t n) { return Widen(_mm256_maskz_loadu_epi16(TailMask(n), p)); }
};
struct WeightF16 {
  using T = uint16_t;
  static VF Load(const T* p) {
    return _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)));
  }
  static VF LoadN(const T* p, int64_t n) {
    return _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(TailMask(n), p));
  }
};

}  // namespace loom::kernels::avx512
