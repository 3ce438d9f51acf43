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

}  // namespace

void Interleave(const void* w, DType t, void* dst, int64_t n, int64_t k) {
  if (t == DType::kBF16x16) {
    return InterleaveBf16(static_cast<const uint16_t*>(w), static_cast<uint16_t*>(dst), n, k);
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
