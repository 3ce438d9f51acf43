// AVX2 vector layer for the shared kernel bodies (*_impl.h): 8 f32 lanes; f32 tails use
// vmaskmov, 16-bit tails go through a zero-padded stack copy. Include only from translation
// units built with the AVX2 flags (kernels/CMakeLists.txt). Everything lives in namespace avx2,
// so no symbol is shared with the AVX-512 build.
#pragma once

#include <immintrin.h>

#include <cstdint>

namespace loom::kernels::avx2 {

using VF = __m256;
inline constexpr int64_t kLanes = 8;

// All-ones in lanes [0, n); n in [0, kLanes].
inline __m256i TailMask(int64_t n) {
  return _mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int>(n)),
                            _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

inline VF Zero() { return _mm256_setzero_ps(); }
inline VF Set1(float v) { return _mm256_set1_ps(v); }
inline VF Load(const float* p) { return _mm256_loadu_ps(p); }
// First n lanes from p, the rest 0 (masked: never touches memory past p + n).
inline VF LoadN(const float* p, int64_t n) { return _mm256_maskload_ps(p, TailMask(n)); }
// First n lanes from p, the rest `fill`.
inline VF LoadNFill(const float* p, int64_t n, float fill) {
  const __m256i mask = TailMask(n);
  return _mm256_blendv_ps(_mm256_set1_ps(fill), _mm256_maskload_ps(p, mask),
                          _mm256_castsi256_ps(mask));
}
inline void Store(float* p, VF v) { _mm256_storeu_ps(p, v); }
inline void StoreN(float* p, VF v, int64_t n) { _mm256_maskstore_ps(p, TailMask(n), v); }

inline VF Add(VF a, VF b) { return _mm256_add_ps(a, b); }
inline VF Sub(VF a, VF b) { return _mm256_sub_ps(a, b); }
inline VF Mul(VF a, VF b) { return _mm256_mul_ps(a, b); }
inline VF Div(VF a, VF b) { return _mm256_div_ps(a, b); }
inline VF MulAdd(VF a, VF b, VF c) { return _mm256_fmadd_ps(a, b, c); }      // a * b + c
inline VF NegMulAdd(VF a, VF b, VF c) { return _mm256_fnmadd_ps(a, b, c); }  // c - a * b
// Like the instructions, these return `b` if either operand is NaN: Min(bound, x) keeps a NaN x.
inline VF Min(VF a, VF b) { return _mm256_min_ps(a, b); }
inline VF Max(VF a, VF b) { return _mm256_max_ps(a, b); }

inline float ReduceAdd(VF v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}
// Lane t = the sum of v[t]'s lanes, t < kLanes: a transpose-and-add tree. Every lane's sum runs
// in the same order: ((e0 + e2) + (e1 + e3)) within each 128-bit half, then the two halves.
inline VF ReduceLanes(const VF* v) {
  VF s1[4], s2[2];
  for (int p = 0; p < 4; ++p) {  // per half: [a0+a2, b0+b2, a1+a3, b1+b3]
    s1[p] = _mm256_add_ps(_mm256_unpacklo_ps(v[2 * p], v[2 * p + 1]),
                          _mm256_unpackhi_ps(v[2 * p], v[2 * p + 1]));
  }
  for (int q = 0; q < 2; ++q) {  // per half: one partial sum of each of v[4q .. 4q + 3]
    const __m256d a = _mm256_castps_pd(s1[2 * q]), b = _mm256_castps_pd(s1[2 * q + 1]);
    s2[q] = _mm256_add_ps(_mm256_castpd_ps(_mm256_unpacklo_pd(a, b)),
                          _mm256_castpd_ps(_mm256_unpackhi_pd(a, b)));
  }
  return _mm256_add_ps(_mm256_permute2f128_ps(s2[0], s2[1], 0x20),
                       _mm256_permute2f128_ps(s2[0], s2[1], 0x31));
}
inline float ReduceMax(VF v) {
  __m128 s = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_max_ps(s, _mm_movehl_ps(s, s));
  s = _mm_max_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

// Prefetch into L1 the line `bytes` past p. Integer arithmetic: the target may lie past the end
// of p's array (prefetches never fault), which pointer arithmetic must not express.
inline void PrefetchAhead(const void* p, int64_t bytes) {
  _mm_prefetch(reinterpret_cast<const char*>(reinterpret_cast<uintptr_t>(p) + bytes), _MM_HINT_T0);
}

// exp(x), Cephes expf: n = round(x log2 e), r = x - n ln 2 in two parts (|r| <= ln2/2), degree-6
// polynomial for e^r (~1-2 ulp), times 2^n built in the exponent field. 2^n is applied as two
// factors 2^(n/2) 2^(n - n/2) so that n in [-159, 128] (from the clamp) needs no special cases:
// the result correctly overflows to inf above 88.73 and decays through subnormals to 0.
inline VF Exp(VF x) {
  x = Max(Set1(-110.0f), Min(Set1(89.0f), x));
  const VF n = _mm256_round_ps(Mul(x, Set1(1.44269504088896341f)),
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
  const __m256i ni = _mm256_cvtps_epi32(n);
  const __m256i n1 = _mm256_srai_epi32(ni, 1);
  const __m256i n2 = _mm256_sub_epi32(ni, n1);
  const __m256i bias = _mm256_set1_epi32(127);
  const VF s1 = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(n1, bias), 23));
  const VF s2 = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(n2, bias), 23));
  return Mul(Mul(p, s1), s2);
}

// Integer lanes for decoding block-quantized weights (quant_matmul_impl.h): kLanes int32 lanes.
using VI = __m256i;
inline VI SetI(int32_t v) { return _mm256_set1_epi32(v); }
inline VI LaneIndex() { return _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7); }
// kLanes bytes from p, zero- / sign-extended to int32 lanes.
inline VI LoadU8(const uint8_t* p) {
  return _mm256_cvtepu8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(p)));
}
inline VI LoadI8(const int8_t* p) {
  return _mm256_cvtepi8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(p)));
}
inline VI AndI(VI a, VI b) { return _mm256_and_si256(a, b); }
inline VI OrI(VI a, VI b) { return _mm256_or_si256(a, b); }
inline VI AddI(VI a, VI b) { return _mm256_add_epi32(a, b); }
inline VI SubI(VI a, VI b) { return _mm256_sub_epi32(a, b); }
inline VI ShiftLeftI(VI a, int s) { return _mm256_sll_epi32(a, _mm_cvtsi32_si128(s)); }
inline VI ShiftRightI(VI a, int s) { return _mm256_srl_epi32(a, _mm_cvtsi32_si128(s)); }
inline VI ShiftRightV(VI a, VI s) { return _mm256_srlv_epi32(a, s); }  // per-lane counts
inline VF ToFloat(VI a) { return _mm256_cvtepi32_ps(a); }              // exact below 2^24

// A 16-entry f32 table indexed by the low 4 bits of each lane: two 8-entry vpermps halves,
// blended on bit 3 of the index (moved to the sign bit, which blendv reads).
struct Lut16 {
  VF lo, hi;
};
// Lut16 of f(i) for i = 0..15; f maps a vector of i values (as floats) to the entries.
template <class F>
Lut16 MakeLut16(F f) {
  return {f(_mm256_setr_ps(0, 1, 2, 3, 4, 5, 6, 7)),
          f(_mm256_setr_ps(8, 9, 10, 11, 12, 13, 14, 15))};
}
inline VF Lookup(const Lut16& lut, VI idx) {
  return _mm256_blendv_ps(_mm256_permutevar8x32_ps(lut.lo, idx),
                          _mm256_permutevar8x32_ps(lut.hi, idx),
                          _mm256_castsi256_ps(_mm256_slli_epi32(idx, 28)));
}
// An 8-entry table indexed by the low 3 bits of each lane (bit 3 and up ignored): one vpermps.
struct Lut8 {
  VF t;
};
template <class F>
Lut8 MakeLut8(F f) {
  return {f(_mm256_setr_ps(0, 1, 2, 3, 4, 5, 6, 7))};
}
inline VF Lookup(const Lut8& lut, VI idx) { return _mm256_permutevar8x32_ps(lut.t, idx); }

// IEEE f16 -> f32, exact (F16C).
inline float HalfToFloat(uint16_t h) { return _cvtsh_ss(h); }

// Weight loaders: kLanes consecutive weights widened to f32 (exact for f16 and bf16).
struct WeightF32 {
  using T = float;
  static VF Load(const T* p) { return _mm256_loadu_ps(p); }
  static VF LoadN(const T* p, int64_t n) { return _mm256_maskload_ps(p, TailMask(n)); }
};

// 8 uint16 from p, or the first n of them zero-padded (n < 8).
inline __m128i Load8xU16(const uint16_t* p) {
  return _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
}
inline __m128i Load8xU16N(const uint16_t* p, int64_t n) {
  alignas(16) uint16_t buf[8] = {};
  for (int64_t i = 0; i < n; ++i) buf[i] = p[i];
  return _mm_load_si128(reinterpret_cast<const __m128i*>(buf));
}

struct WeightBF16 {
  using T = uint16_t;
  static VF Widen(__m128i h) {
    return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16));
  }
  static VF Load(const T* p) { return Widen(Load8xU16(p)); }
  static VF LoadN(const T* p, int64_t n) { return Widen(Load8xU16N(p, n)); }
};
struct WeightF16 {
  using T = uint16_t;
  static VF Load(const T* p) { return _mm256_cvtph_ps(Load8xU16(p)); }
  static VF LoadN(const T* p, int64_t n) { return _mm256_cvtph_ps(Load8xU16N(p, n)); }
};

}  // namespace loom::kernels::avx2
