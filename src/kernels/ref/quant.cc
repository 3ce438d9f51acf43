// ggml block formats, scalar. Every dequantizer evaluates ggml's expression for an element in
// ggml's order (for instance Q4_1 is fl(fl(q * d) + m), Q6_K is fl(fl(d * scale) * q)) and the
// quantizers evaluate ggml's float expressions in its order, so results are bit-identical. This
// file is built with -ffp-contract=off (kernels/CMakeLists.txt): no FMA may fuse mul and add.
//
// Element e of a K-type super-block (256 elements), as ggml lays it out:
//   Q2_K, Q3_K  2-bit field of qs[32 * (e / 128) + e % 32] at bit 2 * (e % 128 / 32);
//               scale index e / 16; Q3_K's high bit is bit e / 32 of hmask[e % 32]
//   Q4_K, Q5_K  nibble of qs[32 * (e / 64) + e % 32], the high one when e % 64 >= 32;
//               scale/min index e / 32; Q5_K's fifth bit is bit e / 32 of qh[e % 32]
//   Q6_K        nibble of ql[64 * (e / 128) + 32 * (e / 32 % 2) + e % 32], the high one when
//               e % 128 >= 64; bits 4-5 at bit 2 * (e % 128 / 32) of qh[32 * (e / 128) + e % 32];
//               scale index e / 16
#include "kernels/ref/quant.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace loom::kernels::ref {
namespace {

float Half(const uint8_t* p) {
  uint16_t h;
  std::memcpy(&h, p, 2);
  return F16ToF32(h);
}

void PutHalf(uint8_t* p, float f) {
  const uint16_t h = F32ToF16(f);
  std::memcpy(p, &h, 2);
}

// ggml's nearest_int (adds 1.5 * 2^23 and reads the mantissa): for |f| < 2^22, as ggml asserts,
// that is exactly round-half-to-even, i.e. lrint in the default rounding mode.
int NearestInt(float f) { return static_cast<int>(std::lrint(f)); }

// Callers validate dtypes and sizes; reaching this is a programming error.
[[noreturn]] void Unsupported(const char* what, DType t, int64_t n) {
  std::fprintf(stderr, "loom: %s: dtype %.*s with %lld elements is not supported\n", what,
               static_cast<int>(DTypeName(t).size()), DTypeName(t).data(),
               static_cast<long long>(n));
  std::abort();
}

// ---------------------------------------------------------------------------------------------
// Dequantization of one block into y (32 or 256 floats).

// Q4_0: f16 d, qs[16]; element j < 16 is the low nibble of qs[j], j + 16 the high one; (q - 8) d.
void DequantQ4_0(const uint8_t* b, float* y) {
  const float d = Half(b);
  const uint8_t* qs = b + 2;
  for (int j = 0; j < 16; ++j) {
    y[j] = static_cast<float>((qs[j] & 0xF) - 8) * d;
    y[j + 16] = static_cast<float>((qs[j] >> 4) - 8) * d;
  }
}

// Q4_1: f16 d, f16 m, qs[16]; q d + m.
void DequantQ4_1(const uint8_t* b, float* y) {
  const float d = Half(b);
  const float m = Half(b + 2);
  const uint8_t* qs = b + 4;
  for (int j = 0; j < 16; ++j) {
    y[j] = static_cast<float>(qs[j] & 0xF) * d + m;
    y[j + 16] = static_cast<float>(qs[j] >> 4) * d + m;
  }
}

// 5-bit quant of element j (< 32): nibble as Q4_0, fifth bit = bit j of the u32 qh.
int Q5Value(const uint8_t* qs, uint32_t qh, int j) {
  const int nibble = j < 16 ? qs[j] & 0xF : qs[j - 16] >> 4;
  return nibble | static_cast<int>((qh >> j) & 1u) << 4;
}

// Q5_0: f16 d, u32 qh, qs[16]; (q - 16) d.
void DequantQ5_0(const uint8_t* b, float* y) {
  const float d = Half(b);
  uint32_t qh;
  std::memcpy(&qh, b + 2, 4);
  for (int j = 0; j < 32; ++j) y[j] = static_cast<float>(Q5Value(b + 6, qh, j) - 16) * d;
}

// Q5_1: f16 d, f16 m, u32 qh, qs[16]; q d + m.
void DequantQ5_1(const uint8_t* b, float* y) {
  const float d = Half(b);
  const float m = Half(b + 2);
  uint32_t qh;
  std::memcpy(&qh, b + 4, 4);
  for (int j = 0; j < 32; ++j) y[j] = static_cast<float>(Q5Value(b + 8, qh, j)) * d + m;
}

// Q8_0: f16 d, int8 qs[32]; q d.
void DequantQ8_0(const uint8_t* b, float* y) {
  const float d = Half(b);
  const int8_t* qs = reinterpret_cast<const int8_t*>(b + 2);
  for (int j = 0; j < 32; ++j) y[j] = static_cast<float>(qs[j]) * d;
}

// Q2_K: scales[16] (low nibble scale, high nibble min), qs[64], f16 d, f16 dmin;
// (d sc) q - (dmin m).
void DequantQ2_K(const uint8_t* b, float* y) {
  const uint8_t* scales = b;
  const uint8_t* qs = b + 16;
  const float d = Half(b + 80);
  const float dmin = Half(b + 82);
  for (int e = 0; e < 256; ++e) {
    const int q = (qs[32 * (e / 128) + e % 32] >> (2 * (e % 128 / 32))) & 3;
    const uint8_t sc = scales[e / 16];
    const float dl = d * static_cast<float>(sc & 0xF);
    const float ml = dmin * static_cast<float>(sc >> 4);
    y[e] = dl * static_cast<float>(q) - ml;
  }
}

// The 16 six-bit Q3_K scales (0..63, stored biased by 32) packed into 12 bytes: low nibbles in
// bytes 0-7 (scales 0-7 low, 8-15 high nibble), the top two bits in bytes 8-11.
int Q3Scale(const uint8_t* sc, int j) {
  const int low = j < 8 ? sc[j] & 0xF : sc[j - 8] >> 4;
  const int high = (sc[8 + j % 4] >> (2 * (j / 4))) & 3;
  return low | high << 4;
}

// Q3_K: hmask[32], qs[64], scales[12], f16 d; (d (s - 32)) (q - 4 if the high bit is clear).
void DequantQ3_K(const uint8_t* b, float* y) {
  const uint8_t* hmask = b;
  const uint8_t* qs = b + 32;
  const uint8_t* scales = b + 96;
  const float d = Half(b + 108);
  for (int e = 0; e < 256; ++e) {
    const int low = (qs[32 * (e / 128) + e % 32] >> (2 * (e % 128 / 32))) & 3;
    const int q = low - ((hmask[e % 32] >> (e / 32)) & 1 ? 0 : 4);
    const float dl = d * static_cast<float>(Q3Scale(scales, e / 16) - 32);
    y[e] = dl * static_cast<float>(q);
  }
}

// Scale and min j (0..7) of a Q4_K/Q5_K super-block, six bits each in 12 bytes (ggml's
// get_scale_min_k4): j < 4 in the low six bits of bytes j and j + 4; j >= 4 in the nibbles of
// byte j + 4 with the top two bits in the high bits of bytes j - 4 and j.
void ScaleMinK4(const uint8_t* q, int j, int* sc, int* m) {
  if (j < 4) {
    *sc = q[j] & 63;
    *m = q[j + 4] & 63;
  } else {
    *sc = (q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4);
    *m = (q[j + 4] >> 4) | ((q[j] >> 6) << 4);
  }
}

// Q4_K: f16 d, f16 dmin, scales[12], qs[128]; (d sc) q - (dmin m) per 32 elements.
void DequantQ4_K(const uint8_t* b, float* y) {
  const float d = Half(b);
  const float dmin = Half(b + 2);
  const uint8_t* scales = b + 4;
  const uint8_t* qs = b + 16;
  for (int sub = 0; sub < 8; ++sub) {
    int sc, m;
    ScaleMinK4(scales, sub, &sc, &m);
    const float dl = d * static_cast<float>(sc);
    const float ml = dmin * static_cast<float>(m);
    for (int l = 0; l < 32; ++l) {
      const uint8_t byte = qs[32 * (sub / 2) + l];
      const int q = sub % 2 == 0 ? byte & 0xF : byte >> 4;
      y[32 * sub + l] = dl * static_cast<float>(q) - ml;
    }
  }
}

// Q5_K: f16 d, f16 dmin, scales[12], qh[32], qs[128]; as Q4_K with a fifth bit.
void DequantQ5_K(const uint8_t* b, float* y) {
  const float d = Half(b);
  const float dmin = Half(b + 2);
  const uint8_t* scales = b + 4;
  const uint8_t* qh = b + 16;
  const uint8_t* qs = b + 48;
  for (int sub = 0; sub < 8; ++sub) {
    int sc, m;
    ScaleMinK4(scales, sub, &sc, &m);
    const float dl = d * static_cast<float>(sc);
    const float ml = dmin * static_cast<float>(m);
    for (int l = 0; l < 32; ++l) {
      const uint8_t byte = qs[32 * (sub / 2) + l];
      const int q = (sub % 2 == 0 ? byte & 0xF : byte >> 4) | ((qh[l] >> sub) & 1) << 4;
      y[32 * sub + l] = dl * static_cast<float>(q) - ml;
    }
  }
}

// Q6_K: ql[128], qh[64], int8 scales[16], f16 d; (d s) (q - 32).
void DequantQ6_K(const uint8_t* b, float* y) {
  const uint8_t* ql = b;
  const uint8_t* qh = b + 128;
  const int8_t* scales = reinterpret_cast<const int8_t*>(b + 192);
  const float d = Half(b + 208);
  for (int e = 0; e < 256; ++e) {
    const int half = e / 128, quarter = e % 128 / 32, l = e % 32;
    const uint8_t low_byte = ql[64 * half + 32 * (quarter % 2) + l];
    const int low = quarter < 2 ? low_byte & 0xF : low_byte >> 4;
    const int high = (qh[32 * half + l] >> (2 * quarter)) & 3;
    const int q = (low | high << 4) - 32;
    y[e] = d * static_cast<float>(scales[e / 16]) * static_cast<float>(q);
  }
}

using DequantBlockFn = void (*)(const uint8_t*, float*);

DequantBlockFn DequantFor(DType t) {
  switch (t) {
    case DType::kQ4_0:
      return DequantQ4_0;
    case DType::kQ4_1:
      return DequantQ4_1;
    case DType::kQ5_0:
      return DequantQ5_0;
    case DType::kQ5_1:
      return DequantQ5_1;
    case DType::kQ8_0:
      return DequantQ8_0;
    case DType::kQ2_K:
      return DequantQ2_K;
    case DType::kQ3_K:
      return DequantQ3_K;
    case DType::kQ4_K:
      return DequantQ4_K;
    case DType::kQ5_K:
      return DequantQ5_K;
    case DType::kQ6_K:
      return DequantQ6_K;
    case DType::kF32:
    case DType::kF16:
    case DType::kBF16:
    case DType::kQ4_0x16:  // interleaved: read only by the VNNI matmul
    case DType::kQ8_0x16:
    case DType::kQ6_Kx16:
    case DType::kBF16x16:
    case DType::kI32:
      break;
  }
  return nullptr;
}

// ---------------------------------------------------------------------------------------------
// Quantization (ggml's reference quantizers).

// Q8_0: d = max|x| / 127, q = round(x / d) (half away from zero, as roundf).
void QuantQ8_0(const float* x, uint8_t* b) {
  float amax = 0.0f;
  for (int j = 0; j < 32; ++j) amax = std::max(amax, std::fabs(x[j]));
  const float d = amax / 127.0f;
  const float id = d != 0.0f ? 1.0f / d : 0.0f;
  PutHalf(b, d);
  int8_t* qs = reinterpret_cast<int8_t*>(b + 2);
  for (int j = 0; j < 32; ++j) qs[j] = static_cast<int8_t>(std::round(x[j] * id));
}

// Q4_0: d = -(the value of largest magnitude, first one on ties) / 8, so that value maps to
// q = 0 exactly; q = min(15, trunc(x / d + 8.5)).
void QuantQ4_0(const float* x, uint8_t* b) {
  float amax = 0.0f;
  float max = 0.0f;
  for (int j = 0; j < 32; ++j) {
    if (amax < std::fabs(x[j])) {
      amax = std::fabs(x[j]);
      max = x[j];
    }
  }
  const float d = max / -8.0f;
  const float id = d != 0.0f ? 1.0f / d : 0.0f;
  PutHalf(b, d);
  uint8_t* qs = b + 2;
  for (int j = 0; j < 16; ++j) {
    const int q0 = std::min(15, static_cast<int>(static_cast<int8_t>(x[j] * id + 8.5f)));
    const int q1 = std::min(15, static_cast<int>(static_cast<int8_t>(x[j + 16] * id + 8.5f)));
    qs[j] = static_cast<uint8_t>(q0 | q1 << 4);
  }
}

// ggml's make_qkx2_quants: fits x[i] ~ scale * L[i] + min (L in [0, nmax], min <= 0) minimising
// sum weights[i] * err_i (err = |diff| if use_mad, else diff^2). Starts from the min/max grid,
// then tries nstep + 1 grid spacings (rmin + rdelta * is + nmax) / (max - min), each followed by
// a weighted least-squares fit of scale and min. Returns scale; *neg_min = -min. Every float
// expression keeps ggml's operation order, so the chosen levels are the same.
float MakeQkx2Quants(int n, int nmax, const float* x, const float* weights, uint8_t* L,
                     float* neg_min, uint8_t* l_aux, float rmin, float rdelta, int nstep,
                     bool use_mad) {
  float min = x[0];
  float max = x[0];
  float sum_w = weights[0];
  float sum_x = sum_w * x[0];
  for (int i = 1; i < n; ++i) {
    if (x[i] < min) min = x[i];
    if (x[i] > max) max = x[i];
    const float w = weights[i];
    sum_w += w;
    sum_x += w * x[i];
  }
  if (min > 0) min = 0;
  if (max == min) {
    for (int i = 0; i < n; ++i) L[i] = 0;
    *neg_min = -min;
    return 0.0f;
  }
  const auto error_term = [use_mad](float diff) { return use_mad ? std::fabs(diff) : diff * diff; };
  float iscale = static_cast<float>(nmax) / (max - min);
  float scale = 1 / iscale;
  float best_error = 0;
  for (int i = 0; i < n; ++i) {
    const int l = NearestInt(iscale * (x[i] - min));
    L[i] = static_cast<uint8_t>(std::max(0, std::min(nmax, l)));
    const float diff = scale * static_cast<float>(L[i]) + min - x[i];
    best_error += weights[i] * error_term(diff);
  }
  if (nstep < 1) {
    *neg_min = -min;
    return scale;
  }
  for (int is = 0; is <= nstep; ++is) {
    iscale = (rmin + rdelta * static_cast<float>(is) + static_cast<float>(nmax)) / (max - min);
    float sum_l = 0, sum_l2 = 0, sum_xl = 0;
    for (int i = 0; i < n; ++i) {
      const int l = std::max(0, std::min(nmax, NearestInt(iscale * (x[i] - min))));
      l_aux[i] = static_cast<uint8_t>(l);
      const float w = weights[i];
      const float fl = static_cast<float>(l);
      sum_l += w * fl;
      sum_l2 += w * fl * fl;
      sum_xl += w * fl * x[i];
    }
    const float det = sum_w * sum_l2 - sum_l * sum_l;
    if (det > 0) {
      float this_scale = (sum_w * sum_xl - sum_x * sum_l) / det;
      float this_min = (sum_l2 * sum_x - sum_l * sum_xl) / det;
      if (this_min > 0) {
        this_min = 0;
        this_scale = sum_xl / sum_l2;
      }
      float cur_error = 0;
      for (int i = 0; i < n; ++i) {
        const float diff = this_scale * static_cast<float>(l_aux[i]) + this_min - x[i];
        cur_error += weights[i] * error_term(diff);
      }
      if (cur_error < best_error) {
        for (int i = 0; i < n; ++i) L[i] = l_aux[i];
        best_error = cur_error;
        scale = this_scale;
        min = this_min;
      }
    }
  }
  *neg_min = -min;
  return scale;
}

// Q4_K (ggml's quantize_row_q4_K_ref): per 32-element sub-block a scale and a min from
// MakeQkx2Quants (weights rms + |x|), both quantized to 6 bits against the super-block's largest
// (f16 d = max scale / 63, dmin = max min / 63), then every element re-quantized with the
// stored scale and min.
void QuantQ4_K(const float* x, uint8_t* b) {
  uint8_t levels[256];
  uint8_t l_aux[32];
  float weights[32];
  float scales[8];
  float mins[8];
  float max_scale = 0;
  float max_min = 0;
  for (int j = 0; j < 8; ++j) {
    const float* xs = x + 32 * j;
    float sum_x2 = 0;
    for (int l = 0; l < 32; ++l) sum_x2 += xs[l] * xs[l];
    const float av_x = std::sqrt(sum_x2 / 32.0f);
    for (int l = 0; l < 32; ++l) weights[l] = av_x + std::fabs(xs[l]);
    scales[j] = MakeQkx2Quants(32, 15, xs, weights, levels + 32 * j, &mins[j], l_aux, -1.0f, 0.1f,
                               20, false);
    if (scales[j] > max_scale) max_scale = scales[j];
    if (mins[j] > max_min) max_min = mins[j];
  }

  uint8_t* packed = b + 4;  // 12 bytes, layout read by ScaleMinK4
  const float inv_scale = max_scale > 0 ? 63.0f / max_scale : 0.0f;
  const float inv_min = max_min > 0 ? 63.0f / max_min : 0.0f;
  for (int j = 0; j < 8; ++j) {
    // ggml stores nearest_int into a uint8_t before clamping: keep the wrap-around.
    const uint8_t ls =
        std::min<uint8_t>(63, static_cast<uint8_t>(NearestInt(inv_scale * scales[j])));
    const uint8_t lm = std::min<uint8_t>(63, static_cast<uint8_t>(NearestInt(inv_min * mins[j])));
    if (j < 4) {
      packed[j] = ls;
      packed[j + 4] = lm;
    } else {
      packed[j + 4] = static_cast<uint8_t>((ls & 0xF) | (lm & 0xF) << 4);
      packed[j - 4] |= static_cast<uint8_t>((ls >> 4) << 6);
      packed[j] |= static_cast<uint8_t>((lm >> 4) << 6);
    }
  }
  PutHalf(b, max_scale / 63.0f);
  PutHalf(b + 2, max_min / 63.0f);

  const float d = Half(b);
  const float dmin = Half(b + 2);
  for (int j = 0; j < 8; ++j) {
    int sc, m;
    ScaleMinK4(packed, j, &sc, &m);
    const float dl = d * static_cast<float>(sc);
    if (dl == 0.0f) continue;  // keep MakeQkx2Quants' levels, as ggml does
    const float ml = dmin * static_cast<float>(m);
    for (int l = 0; l < 32; ++l) {
      const int q = NearestInt((x[32 * j + l] + ml) / dl);
      levels[32 * j + l] = static_cast<uint8_t>(std::max(0, std::min(15, q)));
    }
  }
  uint8_t* qs = b + 16;
  for (int half = 0; half < 4; ++half) {
    for (int l = 0; l < 32; ++l) {
      qs[32 * half + l] =
          static_cast<uint8_t>(levels[64 * half + l] | levels[64 * half + 32 + l] << 4);
    }
  }
}

using QuantBlockFn = void (*)(const float*, uint8_t*);

QuantBlockFn QuantFor(DType t) {
  switch (t) {
    case DType::kQ8_0:
      return QuantQ8_0;
    case DType::kQ4_0:
      return QuantQ4_0;
    case DType::kQ4_K:
      return QuantQ4_K;
    default:
      return nullptr;
  }
}

}  // namespace

void Dequantize(const void* src, DType t, float* dst, int64_t n) {
  switch (t) {
    case DType::kF32:
      std::memcpy(dst, src, static_cast<size_t>(n) * sizeof(float));
      return;
    case DType::kF16:
    case DType::kBF16: {
      const uint16_t* h = static_cast<const uint16_t*>(src);
      for (int64_t i = 0; i < n; ++i) dst[i] = t == DType::kF16 ? F16ToF32(h[i]) : BF16ToF32(h[i]);
      return;
    }
    default:
      break;
  }
  const DequantBlockFn block = DequantFor(t);
  const int64_t elems = DTypeBlockElems(t);
  const int64_t bytes = DTypeBlockBytes(t);
  if (block == nullptr || n % elems != 0) Unsupported("Dequantize", t, n);
  const uint8_t* p = static_cast<const uint8_t*>(src);
  for (int64_t i = 0; i < n / elems; ++i) block(p + i * bytes, dst + i * elems);
}

bool CanQuantize(DType t) { return QuantFor(t) != nullptr; }

void Quantize(const float* src, DType t, void* dst, int64_t n) {
  const QuantBlockFn block = QuantFor(t);
  const int64_t elems = DTypeBlockElems(t);
  const int64_t bytes = DTypeBlockBytes(t);
  if (block == nullptr || n % elems != 0) Unsupported("Quantize", t, n);
  uint8_t* p = static_cast<uint8_t*>(dst);
  for (int64_t i = 0; i < n / elems; ++i) block(src + i * elems, p + i * bytes);
}

}  // namespace loom::kernels::ref
