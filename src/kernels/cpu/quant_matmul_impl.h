// MatMul with block-quantized weights, shared by the ISAs: y[m, n] = x[m, k] · w[n, k]^T
// (+ bias[n]); x, y, bias f32, w n rows of RowBytes(w_dtype, k) bytes in one of ggml's block
// formats (core/dtype.h; element layouts in kernels/ref/quant.cc). Included once by
// cpu/quant_matmul_<isa>.cc after `#define LOOM_ISA <isa>` and its vec_<isa>.h; everything lands
// in namespace loom::kernels::LOOM_ISA (see matmul_impl.h for why).
//
// Strategy. Weights are never widened to memory: each block is decoded into vector registers,
// 32 elements (a "chunk") at a time, and FMA'd straight into the accumulators of every x row of
// the register tile, so one decode serves up to kMr rows. A decoder evaluates the same f32
// operations as the reference (ggml's; the TUs are built with -ffp-contract=off), so decoded
// weights are exact and the fast path differs from the reference only in f32 summation order.
// Per-block scales are decoded once per block with vector ops; 4-bit quants then map to weights
// through a 16-entry table per (sub-)block (one permute per vector on AVX-512), Q2_K/Q3_K
// through an 8-entry one, the rest with shifts, a convert and the scale (and min) arithmetic.
//  - m = 1 (decode, memory-bound): tiles of 1 x row by 4 w rows (four FMA chains and four weight
//    streams in flight), each tile prefetching the same bytes of the next tile's rows as
//    matmul_impl.h does (measured: without it Q4_0 / Q6_K decode runs 2-3x slower).
//  - m > 1: tiles of up to kMr x rows by 2 w rows, k in chunks of kKc elements, so the x tile
//    (kMr x kKc f32) and the task's kNb weight rows of the chunk stay in L1 while every x tile
//    reuses them.
// Threads split the output columns n in blocks of kNb rows (schedule static: each thread streams
// a contiguous slice of w), only when the work repays the fork/join.
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "kernels/cpu/cpu_kernels.h"
#include "kernels/interleaved.h"

#ifndef LOOM_ISA
#error "define LOOM_ISA and include kernels/cpu/vec_<isa>.h before quant_matmul_impl.h"
#endif

namespace loom::kernels::LOOM_ISA {
namespace {

constexpr int kChunk = 32;           // elements decoded at a time
constexpr int kV = kChunk / kLanes;  // vectors per chunk: 2 (AVX-512) or 4 (AVX2)
// x rows per register tile (m > 1): kMr x 2 accumulators, 16 of AVX-512's 32 registers, 8 of
// AVX2's 16.
constexpr int kMr = kLanes == 16 ? 8 : 4;
constexpr int64_t kNb = 16;          // output columns (w rows) per parallel task
constexpr int64_t kKc = 4096 / kMr;  // k chunk (m > 1): x tile 16 KiB, kNb rows <= 17 KiB
constexpr int64_t kMinParallelMacs = int64_t{1} << 17;

inline float Half(const uint8_t* p) {
  uint16_t h;
  std::memcpy(&h, p, 2);
  return HalfToFloat(h);
}

// The 6-bit scales and mins of a Q4_K/Q5_K super-block (12 packed bytes; ggml's
// get_scale_min_k4 for j = 0..7, on 32-bit words): out[0, 8) scales, out[8, 16) mins.
inline void UnpackScaleMinK4(const uint8_t* packed, uint8_t* out) {
  uint32_t s[3];
  std::memcpy(s, packed, 12);
  const uint32_t w[4] = {
      s[0] & 0x3f3f3f3fu,                                              // scales 0-3
      (s[2] & 0x0f0f0f0fu) | ((s[0] >> 6) & 0x03030303u) << 4,         // scales 4-7
      s[1] & 0x3f3f3f3fu,                                              // mins 0-3
      ((s[2] >> 4) & 0x0f0f0f0fu) | ((s[1] >> 6) & 0x03030303u) << 4,  // mins 4-7
  };
  std::memcpy(out, w, 16);
}

// The 16 six-bit Q3_K scales (12 packed bytes: low nibbles in bytes 0-7, scale j >= 8 in the high
// nibble of byte j - 8; top two bits of scale j at bit 2 (j / 4) of byte 8 + j % 4), unbiased
// later. On 32-bit words: word t of the output holds scales 4t .. 4t + 3.
inline void UnpackScalesQ3K(const uint8_t* packed, uint8_t* out) {
  uint32_t s[3];
  std::memcpy(s, packed, 12);
  const uint32_t low[4] = {s[0] & 0x0f0f0f0fu, s[1] & 0x0f0f0f0fu, (s[0] >> 4) & 0x0f0f0f0fu,
                           (s[1] >> 4) & 0x0f0f0f0fu};
  uint32_t w[4];
  for (int t = 0; t < 4; ++t) w[t] = low[t] | ((s[2] >> (2 * t)) & 0x03030303u) << 4;
  std::memcpy(out, w, 16);
}

// The bit field `field` (a mask at bit 0: 1, 3, ...) at bit `from` of every lane, moved to bit
// `to`, all other bits cleared: one shift and one and.
inline VI MoveBits(VI v, int from, int to, int32_t field) {
  const VI moved = from >= to ? ShiftRightI(v, from - to) : ShiftLeftI(v, to - from);
  return AndI(moved, SetI(field << to));
}

// Block decoders. Each holds what one block needs (pointers, scales decoded once per block) and
// writes elements [32 c, 32 c + 32) of the block to w[0, kV) with Chunk(c, w). Vector v of a
// chunk holds elements 32 c + v kLanes + [0, kLanes): `e` below is that first element within the
// chunk (for the K types, within the chunk and so at 32 c + e in the super-block).

// Q4_0: f16 d, qs[16] (element j < 16: low nibble of qs[j]; j + 16: high nibble); (q - 8) d.
struct BlockQ4_0 {
  static constexpr int64_t kElems = 32, kBytes = 18;
  const uint8_t* qs;
  Lut16 lut;
  BlockQ4_0() = default;
  explicit BlockQ4_0(const uint8_t* b) : qs(b + 2) {
    const VF d = Set1(Half(b));
    lut = MakeLut16([d](VF i) { return Mul(Sub(i, Set1(8.0f)), d); });
  }
  void Chunk(int /*c*/, VF* w) const {
    for (int v = 0; v < kV; ++v) {
      const int e = v * kLanes;
      const VI q = LoadU8(qs + e % 16);  // the table reads only the low 4 bits
      w[v] = Lookup(lut, e < 16 ? q : ShiftRightI(q, 4));
    }
  }
};

// Q4_1: f16 d, f16 m, qs[16]; q d + m.
struct BlockQ4_1 {
  static constexpr int64_t kElems = 32, kBytes = 20;
  const uint8_t* qs;
  Lut16 lut;
  BlockQ4_1() = default;
  explicit BlockQ4_1(const uint8_t* b) : qs(b + 4) {
    const VF d = Set1(Half(b));
    const VF m = Set1(Half(b + 2));
    lut = MakeLut16([d, m](VF i) { return Add(Mul(i, d), m); });
  }
  void Chunk(int /*c*/, VF* w) const {
    for (int v = 0; v < kV; ++v) {
      const int e = v * kLanes;
      const VI q = LoadU8(qs + e % 16);
      w[v] = Lookup(lut, e < 16 ? q : ShiftRightI(q, 4));
    }
  }
};

// 5-bit quants of a Q5_0/Q5_1 block, vector v: nibble as Q4_0 | bit e of the u32 qh << 4.
inline VI Q5Quants(const uint8_t* qs, VI qh, int v) {
  const int e = v * kLanes;
  const VI byte = LoadU8(qs + e % 16);
  const VI nibble = e < 16 ? AndI(byte, SetI(0xF)) : ShiftRightI(byte, 4);
  const VI high = AndI(ShiftRightV(qh, AddI(LaneIndex(), SetI(e))), SetI(1));
  return OrI(nibble, ShiftLeftI(high, 4));
}

inline VI BroadcastU32(const uint8_t* p) {
  int32_t v;
  std::memcpy(&v, p, 4);
  return SetI(v);
}

// Q5_0: f16 d, u32 qh, qs[16]; (q - 16) d.
struct BlockQ5_0 {
  static constexpr int64_t kElems = 32, kBytes = 22;
  const uint8_t* qs;
  VI qh;
  VF d;
  BlockQ5_0() = default;
  explicit BlockQ5_0(const uint8_t* b) : qs(b + 6), qh(BroadcastU32(b + 2)), d(Set1(Half(b))) {}
  void Chunk(int /*c*/, VF* w) const {
    for (int v = 0; v < kV; ++v) w[v] = Mul(ToFloat(SubI(Q5Quants(qs, qh, v), SetI(16))), d);
  }
};

// Q5_1: f16 d, f16 m, u32 qh, qs[16]; q d + m.
struct BlockQ5_1 {
  static constexpr int64_t kElems = 32, kBytes = 24;
  const uint8_t* qs;
  VI qh;
  VF d, m;
  BlockQ5_1() = default;
  explicit BlockQ5_1(const uint8_t* b)
      : qs(b + 8), qh(BroadcastU32(b + 4)), d(Set1(Half(b))), m(Set1(Half(b + 2))) {}
  void Chunk(int /*c*/, VF* w) const {
    for (int v = 0; v < kV; ++v) w[v] = Add(Mul(ToFloat(Q5Quants(qs, qh, v)), d), m);
  }
};

// Q8_0: f16 d, int8 qs[32]; q d.
struct BlockQ8_0 {
  static constexpr int64_t kElems = 32, kBytes = 34;
  const int8_t* qs;
  VF d;
  BlockQ8_0() = default;
  explicit BlockQ8_0(const uint8_t* b)
      : qs(reinterpret_cast<const int8_t*>(b + 2)), d(Set1(Half(b))) {}
  void Chunk(int /*c*/, VF* w) const {
    for (int v = 0; v < kV; ++v) w[v] = Mul(ToFloat(LoadI8(qs + v * kLanes)), d);
  }
};

// Q2_K: scales[16] (low nibble scale, high nibble min per 16 elements), qs[64], f16 d, f16 dmin;
// (d sc) q - (dmin m).
struct BlockQ2_K {
  static constexpr int64_t kElems = 256, kBytes = 84;
  const uint8_t* qs;
  float dl[16], ml[16];  // per 16 elements: d sc, dmin m
  BlockQ2_K() = default;
  explicit BlockQ2_K(const uint8_t* p) : qs(p + 16) {
    const VF d = Set1(Half(p + 80));
    const VF dmin = Set1(Half(p + 82));
    for (int j = 0; j < 16; j += kLanes) {
      const VI sc = LoadU8(p + j);
      Store(dl + j, Mul(d, ToFloat(AndI(sc, SetI(0xF)))));
      Store(ml + j, Mul(dmin, ToFloat(ShiftRightI(sc, 4))));
    }
  }
  void Chunk(int c, VF* w) const {
    const uint8_t* q = qs + 32 * (c / 4);
    const int shift = 2 * (c % 4);
    for (int v = 0; v < kV; ++v) {
      const int e = v * kLanes;
      const int j = (32 * c + e) / 16;
      const VF dlj = Set1(dl[j]), mlj = Set1(ml[j]);
      const Lut8 lut = MakeLut8([dlj, mlj](VF i) { return Sub(Mul(dlj, i), mlj); });
      w[v] = Lookup(lut, AndI(ShiftRightI(LoadU8(q + e), shift), SetI(3)));
    }
  }
};

// Q3_K: hmask[32], qs[64], scales[12] (16 six-bit scales biased by 32), f16 d;
// (d (s - 32)) (q - 4 unless the high bit is set).
struct BlockQ3_K {
  static constexpr int64_t kElems = 256, kBytes = 110;
  const uint8_t* b;
  float dl[16];  // per 16 elements: d (s - 32)
  BlockQ3_K() = default;
  explicit BlockQ3_K(const uint8_t* p) : b(p) {
    alignas(16) uint8_t sc[16];
    UnpackScalesQ3K(p + 96, sc);
    const VF d = Set1(Half(p + 108));
    for (int j = 0; j < 16; j += kLanes) {
      Store(dl + j, Mul(d, ToFloat(SubI(LoadU8(sc + j), SetI(32)))));
    }
  }
  void Chunk(int c, VF* w) const {
    const uint8_t* qs = b + 32 + 32 * (c / 4);
    const int shift = 2 * (c % 4);
    for (int v = 0; v < kV; ++v) {
      const int e = v * kLanes;
      const VF dlj = Set1(dl[(32 * c + e) / 16]);
      const Lut8 lut = MakeLut8([dlj](VF i) { return Mul(dlj, Sub(i, Set1(4.0f))); });
      // Table index: the 2-bit field | the hmask bit (bit c of hmask[e]) at bit 2.
      const VI low = AndI(ShiftRightI(LoadU8(qs + e), shift), SetI(3));
      w[v] = Lookup(lut, OrI(low, MoveBits(LoadU8(b + e), c, 2, 1)));
    }
  }
};

// Scales and mins of a Q4_K/Q5_K super-block as f32: dl[j] = d sc_j; ml[8 + j] = dmin m_j.
struct ScaleMinK4F {
  float dl[16], ml[16];  // [0, 16) of d * (sc, m) and of dmin * (sc, m); half of each is used
  void Init(const uint8_t* p) {
    alignas(16) uint8_t sm[16];
    UnpackScaleMinK4(p + 4, sm);
    const VF d = Set1(Half(p));
    const VF dmin = Set1(Half(p + 2));
    for (int j = 0; j < 16; j += kLanes) {
      const VF f = ToFloat(LoadU8(sm + j));
      Store(dl + j, Mul(d, f));
      Store(ml + j, Mul(dmin, f));
    }
  }
};

// Q4_K: f16 d, f16 dmin, scales[12] (8 six-bit scales and mins), qs[128];
// (d sc) q - (dmin m) per 32 elements, i.e. per chunk: one table per chunk.
struct BlockQ4_K {
  static constexpr int64_t kElems = 256, kBytes = 144;
  const uint8_t* qs;
  ScaleMinK4F s;
  BlockQ4_K() = default;
  explicit BlockQ4_K(const uint8_t* p) : qs(p + 16) { s.Init(p); }
  void Chunk(int c, VF* w) const {
    const VF dl = Set1(s.dl[c]);
    const VF ml = Set1(s.ml[8 + c]);
    const Lut16 lut = MakeLut16([dl, ml](VF i) { return Sub(Mul(dl, i), ml); });
    const uint8_t* q = qs + 32 * (c / 2);
    for (int v = 0; v < kV; ++v) {
      const VI byte = LoadU8(q + v * kLanes);
      w[v] = Lookup(lut, c % 2 == 0 ? byte : ShiftRightI(byte, 4));
    }
  }
};

// Q5_K: f16 d, f16 dmin, scales[12], qh[32], qs[128]; Q4_K with a fifth bit (bit c of qh[e]).
struct BlockQ5_K {
  static constexpr int64_t kElems = 256, kBytes = 176;
  const uint8_t* qh;
  const uint8_t* qs;
  ScaleMinK4F s;
  BlockQ5_K() = default;
  explicit BlockQ5_K(const uint8_t* p) : qh(p + 16), qs(p + 48) { s.Init(p); }
  void Chunk(int c, VF* w) const {
    const VF dl = Set1(s.dl[c]);
    const VF ml = Set1(s.ml[8 + c]);
    const uint8_t* q = qs + 32 * (c / 2);
    for (int v = 0; v < kV; ++v) {
      const int e = v * kLanes;
      const VI byte = LoadU8(q + e);
      const VI nibble = c % 2 == 0 ? AndI(byte, SetI(0xF)) : ShiftRightI(byte, 4);
      const VI high = MoveBits(LoadU8(qh + e), c, 4, 1);  // bit c of qh[e] -> bit 4
      w[v] = Sub(Mul(dl, ToFloat(OrI(nibble, high))), ml);
    }
  }
};

// Q6_K: ql[128], qh[64], int8 scales[16], f16 d; (d s) (q - 32).
struct BlockQ6_K {
  static constexpr int64_t kElems = 256, kBytes = 210;
  const uint8_t* b;
  float ds[16];  // per 16 elements: d s
  BlockQ6_K() = default;
  explicit BlockQ6_K(const uint8_t* p) : b(p) {
    const VF d = Set1(Half(p + 208));
    const int8_t* scales = reinterpret_cast<const int8_t*>(p + 192);
    for (int j = 0; j < 16; j += kLanes) Store(ds + j, Mul(d, ToFloat(LoadI8(scales + j))));
  }
  void Chunk(int c, VF* w) const {
    const int half = c / 4, quarter = c % 4;
    const uint8_t* ql = b + 64 * half + 32 * (quarter % 2);
    const uint8_t* qh = b + 128 + 32 * half;
    for (int v = 0; v < kV; ++v) {
      const int e = v * kLanes;
      const VI low_byte = LoadU8(ql + e);
      const VI low = quarter < 2 ? AndI(low_byte, SetI(0xF)) : ShiftRightI(low_byte, 4);
      const VI high = MoveBits(LoadU8(qh + e), 2 * quarter, 4, 3);  // 2 bits -> bits 4-5
      const VI q = SubI(OrI(low, high), SetI(32));
      w[v] = Mul(Set1(ds[(32 * c + e) / 16]), ToFloat(q));
    }
  }
};

// Accumulates an MR x NR tile of dot products over `blocks` blocks of B:
//   y[i * ldy + j] = base + x[i * ldx + 0:blocks * kElems] · w row j (j * ldw bytes on),
// base = y[...] if `accumulate`, else bias[j] (or 0 when bias is null).
// kPrefetch: also prefetch the same bytes of the next NR w rows (the next tile).
template <class B, int MR, int NR, bool kPrefetch>
void Tile(const float* x, int64_t ldx, const uint8_t* w, int64_t ldw, int64_t blocks,
          const float* bias, bool accumulate, float* y, int64_t ldy) {
  VF acc[MR][NR];
#pragma GCC unroll 8
  for (int i = 0; i < MR; ++i) {
#pragma GCC unroll 4
    for (int j = 0; j < NR; ++j) acc[i][j] = Zero();
  }
  for (int64_t bi = 0; bi < blocks; ++bi) {
    B blk[NR];
#pragma GCC unroll 4
    for (int j = 0; j < NR; ++j) {
      const uint8_t* p = w + j * ldw + bi * B::kBytes;
      if constexpr (kPrefetch) {
        for (int64_t off = 0; off < B::kBytes; off += 64) PrefetchAhead(p + off, NR * ldw);
      }
      blk[j] = B(p);
    }
    const float* xb = x + bi * B::kElems;
#pragma GCC unroll 8
    for (int c = 0; c < B::kElems / kChunk; ++c) {
#pragma GCC unroll 4
      for (int j = 0; j < NR; ++j) {
        VF wv[kV];
        blk[j].Chunk(c, wv);
#pragma GCC unroll 4
        for (int v = 0; v < kV; ++v) {
#pragma GCC unroll 8
          for (int i = 0; i < MR; ++i) {
            acc[i][j] = MulAdd(Load(xb + i * ldx + c * kChunk + v * kLanes), wv[v], acc[i][j]);
          }
        }
      }
    }
  }
  for (int i = 0; i < MR; ++i) {
    for (int j = 0; j < NR; ++j) {
      float& out = y[i * ldy + j];
      const float base = accumulate ? out : (bias ? bias[j] : 0.0f);
      out = base + ReduceAdd(acc[i][j]);
    }
  }
}

// Tile with run-time mr in [1, kMr], nr in [1, 2].
template <class B, int MR = kMr>
void AnyTile(int mr, int nr, const float* x, int64_t ldx, const uint8_t* w, int64_t ldw,
             int64_t blocks, const float* bias, bool accumulate, float* y, int64_t ldy) {
  if constexpr (MR > 1) {
    if (mr < MR) {
      return AnyTile<B, MR - 1>(mr, nr, x, ldx, w, ldw, blocks, bias, accumulate, y, ldy);
    }
  }
  if (nr == 1) return Tile<B, MR, 1, false>(x, ldx, w, ldw, blocks, bias, accumulate, y, ldy);
  return Tile<B, MR, 2, false>(x, ldx, w, ldw, blocks, bias, accumulate, y, ldy);
}

inline int64_t MinI(int64_t a, int64_t b) { return a < b ? a : b; }

// Columns [j0, j1) of y for m = 1: 1 x 4 tiles streaming w once, then 1 x 1 for the rest.
template <class B>
void ColumnsM1(const float* x, const uint8_t* w, int64_t ldw, int64_t blocks, const float* bias,
               float* y, int64_t j0, int64_t j1) {
  int64_t j = j0;
  for (; j + 4 <= j1; j += 4) {
    Tile<B, 1, 4, true>(x, 0, w + j * ldw, ldw, blocks, bias ? bias + j : nullptr, false, y + j, 0);
  }
  for (; j < j1; ++j) {
    Tile<B, 1, 1, true>(x, 0, w + j * ldw, ldw, blocks, bias ? bias + j : nullptr, false, y + j, 0);
  }
}

// Columns [j0, j1) of y for all m rows, k in chunks of kKc: within a chunk every kMr-row x tile
// runs over the chunk's weight rows, which stay in L1 after the first tile decoded them.
template <class B>
void ColumnsTiled(const float* x, const uint8_t* w, int64_t ldw, int64_t blocks, const float* bias,
                  float* y, int64_t m, int64_t n, int64_t j0, int64_t j1) {
  const int64_t k = blocks * B::kElems;
  const int64_t chunk_blocks = kKc > B::kElems ? kKc / B::kElems : 1;
  for (int64_t b0 = 0; b0 < blocks; b0 += chunk_blocks) {
    const int64_t nb = MinI(chunk_blocks, blocks - b0);
    const bool accumulate = b0 > 0;
    for (int64_t i = 0; i < m; i += kMr) {
      const int mr = static_cast<int>(MinI(kMr, m - i));
      for (int64_t j = j0; j < j1; j += 2) {
        AnyTile<B>(mr, static_cast<int>(MinI(2, j1 - j)), x + i * k + b0 * B::kElems, k,
                   w + j * ldw + b0 * B::kBytes, ldw, nb, bias ? bias + j : nullptr, accumulate,
                   y + i * n + j, n);
      }
    }
  }
}

template <class B>
void QuantMatMulTyped(const float* x, const uint8_t* w, const float* bias, float* y, int64_t m,
                      int64_t n, int64_t k) {
  const int64_t blocks = k / B::kElems;  // per w row
  const int64_t ldw = blocks * B::kBytes;
  const int64_t tasks = (n + kNb - 1) / kNb;
  const bool parallel = m * n * k >= kMinParallelMacs;
#pragma omp parallel for schedule(static) if (parallel)
  for (int64_t t = 0; t < tasks; ++t) {
    const int64_t j0 = t * kNb, j1 = MinI(n, (t + 1) * kNb);
    if (m == 1) {
      ColumnsM1<B>(x, w, ldw, blocks, bias, y, j0, j1);
    } else {
      ColumnsTiled<B>(x, w, ldw, blocks, bias, y, m, n, j0, j1);
    }
  }
}

}  // namespace

void QuantMatMul(const float* x, const void* w, DType w_dtype, const float* bias, float* y,
                 int64_t m, int64_t n, int64_t k) {
  if (!IsQuantized(w_dtype) || interleaved::IsInterleaved(w_dtype) ||
      k % DTypeBlockElems(w_dtype) != 0) {
    // Callers (models/layers) validate shapes; this is a programming error.
    std::fprintf(stderr, "loom: QuantMatMul: dtype %.*s with k = %lld\n",
                 static_cast<int>(DTypeName(w_dtype).size()), DTypeName(w_dtype).data(),
                 static_cast<long long>(k));
    std::abort();
  }
  const uint8_t* wb = static_cast<const uint8_t*>(w);
  switch (w_dtype) {
    case DType::kQ4_0:
      return QuantMatMulTyped<BlockQ4_0>(x, wb, bias, y, m, n, k);
    case DType::kQ4_1:
      return QuantMatMulTyped<BlockQ4_1>(x, wb, bias, y, m, n, k);
    case DType::kQ5_0:
      return QuantMatMulTyped<BlockQ5_0>(x, wb, bias, y, m, n, k);
    case DType::kQ5_1:
      return QuantMatMulTyped<BlockQ5_1>(x, wb, bias, y, m, n, k);
    case DType::kQ8_0:
      return QuantMatMulTyped<BlockQ8_0>(x, wb, bias, y, m, n, k);
    case DType::kQ2_K:
      return QuantMatMulTyped<BlockQ2_K>(x, wb, bias, y, m, n, k);
    case DType::kQ3_K:
      return QuantMatMulTyped<BlockQ3_K>(x, wb, bias, y, m, n, k);
    case DType::kQ4_K:
      return QuantMatMulTyped<BlockQ4_K>(x, wb, bias, y, m, n, k);
    case DType::kQ5_K:
      return QuantMatMulTyped<BlockQ5_K>(x, wb, bias, y, m, n, k);
    case DType::kQ6_K:
      return QuantMatMulTyped<BlockQ6_K>(x, wb, bias, y, m, n, k);
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
}

}  // namespace loom::kernels::LOOM_ISA
