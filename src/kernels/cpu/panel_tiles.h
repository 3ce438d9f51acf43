// The loop the interleaved-weight matmuls share (q8_, q6k_, bf16x16_matmul_avx512bf16.cc): every
// panel of 16 weight rows (kernels/interleaved.h) times every tile of up to MaxRows x rows, the
// tile height a compile-time constant so its accumulators stay in registers. Threads split the
// panels statically, each streaming one contiguous part of w (dynamic hand-outs measured slower
// for every matmul here); a panel stays in L2 while the later tiles run over it.
#pragma once

#include <immintrin.h>

#include <cstdint>
#include <type_traits>

#include "kernels/interleaved.h"

namespace loom::kernels::avx512bf16 {

// A panel's first tile reads it from memory (the later ones find it in L2). The hardware
// prefetcher stops at each 4 KiB page, so that tile asks for every line kStreamAhead bytes ahead
// into L2, keeping its thread's one sequential stream going across pages. A decode-shaped
// sequence of Q4_0 matmuls (the 1B model's 113), 2 threads, streamed 0.74-0.85 of the read
// bandwidth without and 0.90-1.04 with it; into L1 at 2 KiB ahead was slower than nothing.
constexpr int64_t kStreamAhead = 4096;

// Prefetches the Bytes (a multiple of 64) at p + kStreamAhead into L2.
template <int64_t Bytes>
inline void StreamAhead(const void* p) {
  const uintptr_t a = reinterpret_cast<uintptr_t>(p) + kStreamAhead;  // may pass the end: no fault
  for (int64_t off = 0; off < Bytes; off += 64) {
    _mm_prefetch(reinterpret_cast<const char*>(a + off), _MM_HINT_T1);
  }
}

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
