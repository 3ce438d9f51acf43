// The loop the interleaved-weight matmuls share (q8_, q6k_, bf16x16_matmul_avx512bf16.cc): every
// panel of 16 weight rows (kernels/interleaved.h) times every tile of up to MaxRows x rows, the
// tile height a compile-time constant so its accumulators stay in registers. Threads split the
// panels statically, each streaming one contiguous part of w (dynamic hand-outs measured slower
// for every matmul here); a panel stays in L2 while the later tiles run over it.
#pragma once

#include <cstdint>
#include <type_traits>

#include "kernels/interleaved.h"

namespace loom::kernels::avx512bf16 {

// f(std::integral_constant<int, mr>) for 1 <= mr <= MaxRows.
template <int MaxRows, class F>
inline void WithRows(int mr, F&& f) {
  if constexpr (MaxRows > 1) {
    if (mr < MaxRows) return WithRows<MaxRows - 1>(mr, f);
  }
  f(std::integral_constant<int, MaxRows>{});
}

// tile(rows, p, i0) for panel p (output columns 16 p ..) and x rows i0 .. i0 + rows::value: y
// [m, n] (n a multiple of 16) in tiles.
template <int MaxRows, class F>
void ForEachPanelTile(int64_t m, int64_t n, int64_t k, F tile) {
#pragma omp parallel for schedule(static) if (m * n * k >= (int64_t{1} << 17))
  for (int64_t p = 0; p < n / interleaved::kRows; ++p) {
    for (int64_t i0 = 0; i0 < m; i0 += MaxRows) {
      const int mr = static_cast<int>(m - i0 < MaxRows ? m - i0 : MaxRows);
      WithRows<MaxRows>(mr, [&](auto rows) { tile(rows, p, i0); });
    }
  }
}

}  // namespace loom::kernels::avx512bf16
