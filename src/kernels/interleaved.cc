#include "kernels/interleaved.h"

#include <cstring>

namespace loom::kernels::interleaved {

namespace {

void InterleaveBf16(const uint16_t* w, uint16_t* dst, int64_t n, int64_t k) {
#pragma omp parallel for schedule(static)
  for (int64_t p = 0; p < n / kRows; ++p) {
    uint16_t* panel = dst + p * kRows * k;
    for (int64_t g = 0; g < k / 2; ++g) {
      for (int r = 0; r < kRows; ++r) {
        std::memcpy(panel + 32 * g + 2 * r, w + (p * kRows + r) * k + 2 * g, 4);
      }
    }
  }
}

// Q6_K: the 6-bit quant (0..63) of element e of a block (ggml's block_q6_K: ql[128], qh[64]).
int Q6Quant(const uint8_t* b, int e) {
  const int half = e / 128, quarter = e % 128 / 32, l = e % 32;
  const uint8_t low_byte = b[64 * half + 32 * (quarter % 2) + l];
  const int low = quarter < 2 ? low_byte & 0xF : low_byte >> 4;
  return low | ((b[128 + 32 * half + l] >> (2 * quarter)) & 3) << 4;
}

void InterleaveQ6_K(const uint8_t* w, uint8_t* dst, int64_t n, int64_t k) {
  const int64_t row_bytes = RowBytes(DType::kQ6_K, k);
#pragma omp parallel for schedule(static)
  for (int64_t p = 0; p < n / kRows; ++p) {
    for (int64_t s = 0; s < k / 256; ++s) {
      uint8_t* sb = dst + p * kRows * row_bytes + s * kRows * 210;
      for (int r = 0; r < kRows; ++r) {
        const uint8_t* b = w + (p * kRows + r) * row_bytes + s * 210;
        std::memcpy(sb + 2 * r, b + 208, 2);  // f16 d
        for (int j = 0; j < 16; ++j) sb[32 + 16 * j + r] = b[192 + j];
        for (int g = 0; g < 32; ++g) {
          for (int c = 0; c < 4; ++c) {
            sb[288 + 64 * g + 4 * r + c] = static_cast<uint8_t>(
                (Q6Quant(b, 4 * g + c) & 0xF) | (Q6Quant(b, 4 * (g + 32) + c) & 0xF) << 4);
          }
        }
        for (int t = 0; t < 16; ++t) {
          for (int c = 0; c < 4; ++c) {
            // Group t's 2 bits already at bits 4-5, where the quant needs them.
            constexpr int kShift[4] = {4, 6, 0, 2};
            int bits = 0;
            for (int h = 0; h < 4; ++h) {
              bits |= (Q6Quant(b, 4 * (t + 16 * h) + c) >> 4) << kShift[h];
            }
            sb[2336 + 64 * t + 4 * r + c] = static_cast<uint8_t>(bits);
          }
        }
      }
    }
  }
}

}  // namespace

void Interleave(const void* w, DType t, void* dst, int64_t n, int64_t k) {
  if (t == DType::kBF16x16) {
    return InterleaveBf16(static_cast<const uint16_t*>(w), static_cast<uint16_t*>(dst), n, k);
  }
  if (t == DType::kQ6_Kx16) {
    return InterleaveQ6_K(static_cast<const uint8_t*>(w), static_cast<uint8_t*>(dst), n, k);
  }
  const DType base = Base(t);
  const int64_t block_bytes = DTypeBlockBytes(base), row_bytes = RowBytes(base, k);
  const int64_t units = k / kUnitK, quant_bytes = BlockQuantBytes(t);
  const uint32_t flip = base == DType::kQ8_0 ? 0x80808080u : 0u;  // Q8_0's int8 quants + 128
  const auto* src = static_cast<const uint8_t*>(w);
  auto* out = static_cast<uint8_t*>(dst);
#pragma omp parallel for schedule(static)
  for (int64_t p = 0; p < n / kRows; ++p) {
    for (int64_t u = 0; u < units; ++u) {
      uint8_t* unit = out + p * PanelBytes(t, k) + u * UnitBytes(t);
      for (int h = 0; h < 2; ++h) {
        uint8_t* quants = unit + 2 * kRows * 2 + h * quant_bytes;
        for (int r = 0; r < kRows; ++r) {
          const uint8_t* block = src + (p * kRows + r) * row_bytes + (2 * u + h) * block_bytes;
          std::memcpy(unit + (h * kRows + r) * 2, block, 2);  // f16 d
          for (int64_t g = 0; g < GroupsPerBlock(t); ++g) {
            uint32_t word;
            std::memcpy(&word, block + 2 + 4 * g, 4);
            word ^= flip;
            std::memcpy(quants + g * kGroupBytes + 4 * r, &word, 4);
          }
        }
      }
    }
  }
}

}  // namespace loom::kernels::interleaved
