#include "cli/mac_peak.h"

#include <immintrin.h>
#include <omp.h>

#include <algorithm>
#include <chrono>

#include "kernels/dispatch.h"

namespace loom::cli {
namespace {

// Independent accumulator chains per thread: more than latency (5-6 cycles) x issue rate (2 a
// cycle on Zen 4), so the loop runs at the instruction's throughput. Registers only.
constexpr int kChains = 12;
constexpr long kIters = 20'000'000;  // ~30 ms a run on Zen 4

// A value that depends on every bit of the kChains accumulators, so no loop is optimized away.
__attribute__((target("avx512f"))) int Fold(const __m512i* acc) {
  __m512i x = acc[0];
  for (int c = 1; c < kChains; ++c) x = _mm512_xor_si512(x, acc[c]);
  alignas(64) int lanes[16];
  _mm512_store_si512(lanes, x);
  int folded = 0;
  for (int l : lanes) folded ^= l;
  return folded;
}

// kIters x kChains instructions on one thread; returns a value that depends on all of them.
__attribute__((target("avx512f,avx512vnni"))) int VpdpbusdLoop() {
  __m512i acc[kChains];
  for (int c = 0; c < kChains; ++c) acc[c] = _mm512_set1_epi32(c);
  const __m512i a = _mm512_set1_epi8(3), b = _mm512_set1_epi8(5);
  for (long i = 0; i < kIters; ++i) {
#pragma GCC unroll 12
    for (int c = 0; c < kChains; ++c) acc[c] = _mm512_dpbusd_epi32(acc[c], a, b);
  }
  return Fold(acc);
}

__attribute__((target("avx512f,avx512bf16"))) int Vdpbf16psLoop() {
  __m512 acc[kChains];
  for (int c = 0; c < kChains; ++c) acc[c] = _mm512_set1_ps(static_cast<float>(c));
  const __m512bh a = _mm512_cvtne2ps_pbh(_mm512_set1_ps(1e-9f), _mm512_set1_ps(1e-9f));
  for (long i = 0; i < kIters; ++i) {
#pragma GCC unroll 12
    for (int c = 0; c < kChains; ++c) acc[c] = _mm512_dpbf16_ps(acc[c], a, a);
  }
  __m512i bits[kChains];
  for (int c = 0; c < kChains; ++c) bits[c] = _mm512_castps_si512(acc[c]);
  return Fold(bits);
}

// The best of five runs of `loop` on every thread at once, in G multiply-adds per second.
double Gmacs(int (*loop)(), int macs_per_instruction) {
  double best = 0;
  for (int run = 0; run < 5; ++run) {
    int threads = 1;
    volatile int sink = 0;
    const auto t0 = std::chrono::steady_clock::now();
#pragma omp parallel
    {
      const int v = loop();
#pragma omp critical
      sink = sink + v;
#pragma omp single
      threads = omp_get_num_threads();
    }
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    best = std::max(
        best, static_cast<double>(threads) * kIters * kChains * macs_per_instruction / s / 1e9);
  }
  return best;
}

}  // namespace

std::optional<MacPeak> MeasureMacPeak(DType layout) {
  if (kernels::ActiveIsa() != kernels::Isa::kAvx512Bf16) return std::nullopt;
  if (layout == DType::kQ4_0x16 || layout == DType::kQ8_0x16 || layout == DType::kQ6_Kx16) {
    return MacPeak{"vpdpbusd", Gmacs(VpdpbusdLoop, 64)};
  }
  if (layout == DType::kBF16x16 || layout == DType::kBF16) {
    return MacPeak{"vdpbf16ps", Gmacs(Vdpbf16psLoop, 32)};
  }
  return std::nullopt;
}

}  // namespace loom::cli
