// Element types of weights and activations, and scalar conversions between them.
#pragma once

#include <cstdint>
#include <cstring>
#include <string_view>

namespace loom {

// Float types, then ggml's block-quantized weight types (GGUF files, online quantization). A
// block-quantized row of n elements (n a multiple of DTypeBlockElems) is n / DTypeBlockElems
// blocks laid out exactly as ggml's block_q4_0, block_q4_K, ... structs (little-endian).
// kQ4_0x16, kQ8_0x16, kQ6_Kx16 and kBF16x16 hold Q4_0 / Q8_0 / Q6_K / bf16 weights rearranged at
// load, 16 rows interleaved, for the VNNI and BF16 matmuls (kernels/interleaved.h); same bytes per
// row as the type they come from, but only MatMul under Activations::kLikeWeights reads them. kI32
// is storage only: the packed int32 tensors of GPTQ / AWQ checkpoints (safetensors "I32"), which
// are repacked at load (models/gptq_awq.h) and never reach a kernel.
enum class DType : uint8_t {
  kF32,
  kF16,
  kBF16,
  kQ4_0,
  kQ4_1,
  kQ5_0,
  kQ5_1,
  kQ8_0,
  kQ2_K,
  kQ3_K,
  kQ4_K,
  kQ5_K,
  kQ6_K,
  kQ4_0x16,
  kQ8_0x16,
  kQ6_Kx16,
  kBF16x16,
  kI32,
};

constexpr bool IsQuantized(DType t) { return t >= DType::kQ4_0 && t <= DType::kQ6_Kx16; }
// Elements per block: 1 for float types, 256 for the K types, 32 for the others.
constexpr int64_t DTypeBlockElems(DType t) {
  return !IsQuantized(t)                                                    ? 1
         : (t >= DType::kQ2_K && t <= DType::kQ6_K) || t == DType::kQ6_Kx16 ? 256
                                                                            : 32;
}
// Bytes per block (ggml's sizeof(block_*)), or per element for float types.
constexpr int64_t DTypeBlockBytes(DType t) {
  switch (t) {
    case DType::kF32:
      return 4;
    case DType::kF16:
    case DType::kBF16:
    case DType::kBF16x16:
      return 2;
    case DType::kQ4_0:
    case DType::kQ4_0x16:
      return 18;  // f16 d, 16 B of nibbles
    case DType::kQ4_1:
      return 20;  // f16 d, f16 m, 16 B
    case DType::kQ5_0:
      return 22;  // f16 d, 4 B high bits, 16 B
    case DType::kQ5_1:
      return 24;  // f16 d, f16 m, 4 B, 16 B
    case DType::kQ8_0:
    case DType::kQ8_0x16:
      return 34;  // f16 d, 32 int8
    case DType::kQ2_K:
      return 84;  // 16 B scales, 64 B quants, f16 d, f16 dmin
    case DType::kQ3_K:
      return 110;  // 32 B hmask, 64 B quants, 12 B scales, f16 d
    case DType::kQ4_K:
      return 144;  // f16 d, f16 dmin, 12 B scales, 128 B quants
    case DType::kQ5_K:
      return 176;  // f16 d, f16 dmin, 12 B scales, 32 B qh, 128 B quants
    case DType::kQ6_K:
    case DType::kQ6_Kx16:
      return 210;  // 128 B ql, 64 B qh, 16 int8 scales, f16 d
    case DType::kI32:
      return 4;
  }
  return 0;
}
// Bytes of one element of a float (or integer) type. Not defined for block-quantized types: use
// RowBytes.
constexpr size_t DTypeSize(DType t) {
  return IsQuantized(t) ? 0 : static_cast<size_t>(DTypeBlockBytes(t));
}
// Bytes of a row of `n` elements (n a multiple of DTypeBlockElems(t)).
constexpr int64_t RowBytes(DType t, int64_t n) {
  return n / DTypeBlockElems(t) * DTypeBlockBytes(t);
}

std::string_view DTypeName(DType t);  // "f32", "f16", "bf16", "q4_0", ..., "q6_k", "i32"

inline float BF16ToF32(uint16_t h) {
  uint32_t bits = uint32_t{h} << 16;
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

// Round to nearest even, as torch and the AVX-512 BF16 instructions do; NaN stays NaN.
inline uint16_t F32ToBF16(float f) {
  uint32_t bits;
  std::memcpy(&bits, &f, 4);
  if ((bits & 0x7fffffffu) > 0x7f800000u) return static_cast<uint16_t>((bits >> 16) | 0x40);
  bits += 0x7fffu + ((bits >> 16) & 1u);
  return static_cast<uint16_t>(bits >> 16);
}

float F16ToF32(uint16_t h);
uint16_t F32ToF16(float f);  // round to nearest even

}  // namespace loom
