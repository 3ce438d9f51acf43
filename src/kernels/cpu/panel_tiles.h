// The loop the interleaved-weight matmuls share (q8_, q6k_, bf16x16_matmul_avx512bf16.cc): every
// panel of 16 weight rows (kernels/interleaved.h) of every weight in a MatMuls call (one x: a
// layer's q, k, v, or gate, up) times every tile of up to MaxRows x rows, the tile height a
// compile-time constant so its accumulators stay in registers. A panel stays in L2 while the
// later tiles run over it.
//
// The thread split: each thread owns one contiguous run of panels and streams it front to back
// (one sequential stream per thread, as the prefetch below wants; dynamic hand-outs of 2 or 8
// panels from one shared counter measured slower for every matmul here). A thread that finishes
// its run takes panels from the back of another's, so a core slowed by the other tenants of the
// host does not keep the faster one waiting at the join: q4_0 decode spent 8.0% of its cycles in
// libgomp's barrier with a static split and 4.3% with this one (perf, 2 threads).
#pragma once

#include <immintrin.h>
#include <omp.h>

#include <atomic>
#include <cstdint>
#include <span>
#include <type_traits>
#include <utility>

#include "kernels/interleaved.h"
#include "kernels/kernels.h"

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

// One thread's run of panels [begin + front, end - back), the counts taken from each end packed
// in one word so that the owner (from the front) and a thief (from the back) never take the same
// panel. Trivially constructible: a matmul resets only the runs its threads use.
struct alignas(64) PanelRun {
  uint64_t taken;  // front | back << 32

  // The next panels [first, first + count) for the owner: a quarter of what is left (at least
  // one), so that it rarely pays for the atomic; or the last one for a thief. count = 0: none.
  std::pair<int64_t, int64_t> Take(int64_t begin, int64_t end, bool owner) {
    std::atomic_ref<uint64_t> word(taken);
    uint64_t t = word.load(std::memory_order_relaxed);
    for (;;) {
      const int64_t f = static_cast<int64_t>(t & 0xFFFFFFFFu), b = static_cast<int64_t>(t >> 32);
      const int64_t left = (end - b) - (begin + f);
      if (left <= 0) return {0, 0};
      const int64_t count = owner ? (left + 3) / 4 : 1;
      const uint64_t next = owner ? t + static_cast<uint64_t>(count) : t + (uint64_t{1} << 32);
      if (word.compare_exchange_weak(t, next, std::memory_order_relaxed)) {
        return {owner ? begin + f : end - b - 1, count};
      }
    }
  }
};

inline constexpr int kMaxPanelThreads = 64;  // threads beyond this only take others' panels

// tile(rows, o, p, i0) for panel p (output columns 16 p ..) of o = outs[j] and x rows i0 .. i0 +
// rows::value, for every out (each n a multiple of 16): the threads split all their panels.
template <int MaxRows, class F>
void ForEachPanelTile(int64_t m, std::span<const MatMulOut> outs, int64_t k, F tile) {
  int64_t panels = 0;
  for (const MatMulOut& o : outs) panels += o.n / interleaved::kRows;
  auto run_panel = [&](int64_t p) {
    const MatMulOut* o = outs.data();
    for (; p >= o->n / interleaved::kRows; ++o) p -= o->n / interleaved::kRows;
    for (int64_t i0 = 0; i0 < m; i0 += MaxRows) {
      const int mr = static_cast<int>(m - i0 < MaxRows ? m - i0 : MaxRows);
      WithRows<MaxRows>(mr, [&](auto rows) { tile(rows, *o, p, i0); });
    }
  };
  const int max_threads = omp_get_max_threads();
  if (m * panels * interleaved::kRows * k < (int64_t{1} << 17) || max_threads == 1 || panels < 2) {
    for (int64_t p = 0; p < panels; ++p) run_panel(p);
    return;
  }
  PanelRun runs[kMaxPanelThreads];
  for (int t = 0; t < max_threads && t < kMaxPanelThreads; ++t) runs[t].taken = 0;
#pragma omp parallel
  {
    const int nt =
        omp_get_num_threads() < kMaxPanelThreads ? omp_get_num_threads() : kMaxPanelThreads;
    const auto begin = [&](int t) { return panels * t / nt; };
    const int me = omp_get_thread_num();
    // Its own run first, then what is left of the others'.
    for (int d = 0; d < nt; ++d) {
      const int v = (me + d) % nt;
      for (;;) {
        const auto [first, count] = runs[v].Take(begin(v), begin(v + 1), v == me);
        if (count == 0) break;
        for (int64_t p = first; p < first + count; ++p) run_panel(p);
      }
    }
  }
}

}  // namespace loom::kernels::avx512bf16
