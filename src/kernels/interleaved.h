// DType::kQ4_0x16 and kQ8_0x16: Q4_0 / Q8_0 weights [n, k] (n a multiple of 16, k of 64)
// rearranged at load so that the VNNI matmul (cpu/q8_matmul_avx512bf16.cc) reads 16 rows as one
// sequential stream with the rows already in vector lanes: vpdpbusd multiplies 4 bytes per int32
// lane, so lane r of a 64-byte group holds 4 consecutive quants of row r, and one instruction
// against 4 bytes of x advances all 16 rows. The 16 rows' scales of a block are one 32-byte
// vector. As stored (row-major), every block had to be transposed in registers first, and a
// single x row could not use the layout at all. Made once per weight, like llama.cpp's
// q4_0_8x8 repacking.
//
// Panel p (rows 16p .. 16p + 15) starts at byte p * 16 * RowBytes(base type, k) and holds k / 64
// units, one after another. Unit u (blocks 2u and 2u + 1 of each row) is
//   [f16 d of block 2u, rows 0-15][f16 d of block 2u + 1, rows 0-15][quants of 2u][quants of 2u +
//   1]
// and a block's quants are groups g of 64 bytes, row r's 4 bytes at 4r:
//   Q4_0 (4 groups): qs bytes 4g .. 4g + 3 as stored, whose low nibbles are quants 4g .. 4g + 3
//                    and high nibbles 16 + 4g .. 16 + 4g + 3 (unsigned, offset 8)
//   Q8_0 (8 groups): qs bytes 4g .. 4g + 3 plus 128 (unsigned, offset 128)
// Sizes match the base type exactly (Q4_0 unit: 64 + 2 * 256 = 2 * 16 * 18 bytes).
//
// DType::kQ6_Kx16: Q6_K weights [n, k] (n a multiple of 16, k of 256), llama.cpp's usual output
// matrix, for the VNNI matmul (cpu/q6k_matmul_avx512bf16.cc). Panel p starts at byte
// p * 16 * RowBytes(Q6_K, k); super-block s (columns 256 s ..) of its 16 rows is 3360 bytes at
// 3360 s:
//   [0, 32)       f16 d, rows 0-15
//   [32, 288)     int8 scales: sub-block j (columns 16 j ..) at 32 + 16 j, row r's at + r
//   [288, 2336)   32 x 64 bytes of low 4 bits: vector t, row r's 4 bytes at 4r: low nibbles
//                 columns 4t .. 4t + 3 (group t), high nibbles group t + 32
//   [2336, 3360)  16 x 64 bytes of top 2 bits: vector t, row r's byte b holds those of column
//                 4 (t + 16 c) + b at bits 4-5 (c = 0), 6-7 (c = 1), 0-1 (c = 2), 2-3 (c = 3)
// so group g's unsigned 6-bit quants (offset 32) are a nibble and a 2-bit field away.
//
// DType::kBF16x16: bf16 weights [n, k] (n a multiple of 16, k even) for the BF16 matmul
// (cpu/bf16x16_matmul_avx512bf16.cc), same idea for vdpbf16ps, which multiplies 2 bf16 pairs per
// f32 lane: panel p starts at element 16 p k, and its group g (columns 2g, 2g + 1) is 64 bytes at
// element 32 g, row r's pair at 2r.
#pragma once

#include <cstdint>

#include "core/dtype.h"

namespace loom::kernels::interleaved {

constexpr int kRows = 16;       // rows per panel: one per int32 lane
constexpr int64_t kUnitK = 64;  // columns per unit: 2 blocks
constexpr int64_t kGroupBytes = 64;

constexpr bool IsInterleaved(DType t) {
  return t == DType::kQ4_0x16 || t == DType::kQ8_0x16 || t == DType::kQ6_Kx16 ||
         t == DType::kBF16x16;
}
// The row-major type an interleaved type rearranges, and back.
constexpr DType Base(DType t) {
  return t == DType::kQ4_0x16   ? DType::kQ4_0
         : t == DType::kQ8_0x16 ? DType::kQ8_0
         : t == DType::kQ6_Kx16 ? DType::kQ6_K
                                : DType::kBF16;
}
constexpr DType Of(DType base) {
  return base == DType::kQ4_0   ? DType::kQ4_0x16
         : base == DType::kQ8_0 ? DType::kQ8_0x16
         : base == DType::kQ6_K ? DType::kQ6_Kx16
                                : DType::kBF16x16;
}
// True if weights [n, k] of `base` can be interleaved.
constexpr bool Fits(DType base, int64_t n, int64_t k) {
  if (n % kRows != 0) return false;
  if (base == DType::kBF16) return k % 2 == 0;
  if (base == DType::kQ6_K) return k % 256 == 0;
  return (base == DType::kQ4_0 || base == DType::kQ8_0) && k % kUnitK == 0;
}
// Bytes of a panel of 16 rows: as many as the rows take in the base type.
constexpr int64_t PanelBytes(DType t, int64_t k) { return kRows * RowBytes(Base(t), k); }
// Q4_0x16 / Q8_0x16 only:
constexpr int64_t GroupsPerBlock(DType t) { return Base(t) == DType::kQ4_0 ? 4 : 8; }
constexpr int64_t BlockQuantBytes(DType t) { return GroupsPerBlock(t) * kGroupBytes; }
constexpr int64_t UnitBytes(DType t) { return 2 * kRows * 2 + 2 * BlockQuantBytes(t); }

// dst <- w [n, k] of type Base(t) (Fits) in layout t. Parallel over panels.
void Interleave(const void* w, DType t, void* dst, int64_t n, int64_t k);

}  // namespace loom::kernels::interleaved
