// Causal GQA attention with optional sliding window, shared by the ISAs. Included once by
// cpu/attention_<isa>.cc after `#define LOOM_ISA <isa>` and its vec_<isa>.h; everything lands in
// namespace loom::kernels::LOOM_ISA (see matmul_impl.h for why).
//
// A task is one query token and the query heads of one KV head (its GQA group; the group is split
// into smaller head sets only when there would otherwise be fewer tasks than threads, e.g.
// decode with one KV head). The group's heads share every K and V row they read: per chunk of
// kKeyChunk keys, K/V come from memory once and stay in L2 while each head uses them.
// The keys a query sees form one contiguous range [lo, hi] (causal mask + window), walked in
// chunks with an online softmax in f32: scores -> chunk max -> rescale running sum and output
// accumulator -> exp -> accumulate p · v. Register blocks of up to kHb heads share each K/V load.
#include <math.h>  // expf: a plain C function, nothing inline shared across ISAs
#include <omp.h>
#include <stdlib.h>

#include "kernels/cpu/cpu_kernels.h"

#ifndef LOOM_ISA
#error "define LOOM_ISA and include kernels/cpu/vec_<isa>.h before attention_impl.h"
#endif

namespace loom::kernels::LOOM_ISA {
namespace {

constexpr int64_t kKeyChunk = 128;  // keys per online-softmax step: 128 x head_dim x 4 B per K, V
constexpr int kHb = 4;              // heads per register block
constexpr int64_t kMinParallelMacs = int64_t{1} << 16;

inline int64_t MinI(int64_t a, int64_t b) { return a < b ? a : b; }

// s[h * kKeyChunk + r] = scale * q[h * d : +d] · k[r * stride : +d] for h < HB, r < n.
template <int HB>
void Scores(const float* q, int64_t d, const float* k, int64_t stride, int64_t n, float scale,
            float* s) {
  for (int64_t r = 0; r < n; ++r) {
    const float* kr = k + r * stride;
    VF a[HB];
#pragma GCC unroll 4
    for (int h = 0; h < HB; ++h) a[h] = Zero();
    int64_t i = 0;
    for (; i + kLanes <= d; i += kLanes) {
      const VF kv = Load(kr + i);
#pragma GCC unroll 4
      for (int h = 0; h < HB; ++h) a[h] = MulAdd(Load(q + h * d + i), kv, a[h]);
    }
    if (i < d) {
      const VF kv = LoadN(kr + i, d - i);
#pragma GCC unroll 4
      for (int h = 0; h < HB; ++h) a[h] = MulAdd(LoadN(q + h * d + i, d - i), kv, a[h]);
    }
#pragma GCC unroll 4
    for (int h = 0; h < HB; ++h) s[h * kKeyChunk + r] = ReduceAdd(a[h]) * scale;
  }
}

// acc[h * d : +d] += sum_r p[h * kKeyChunk + r] * v[r * stride : +d] for h < HB, r < n.
// The acc slices stay in registers across all n keys; two accumulator sets (even / odd keys)
// keep enough FMAs in flight.
template <int HB>
void AccumulateValues(const float* p, const float* v, int64_t stride, int64_t n, int64_t d,
                      float* acc) {
  for (int64_t i = 0; i < d; i += kLanes) {
    const int64_t len = MinI(kLanes, d - i);
    const bool full = len == kLanes;
    VF a0[HB], a1[HB];
#pragma GCC unroll 4
    for (int h = 0; h < HB; ++h) {
      a0[h] = full ? Load(acc + h * d + i) : LoadN(acc + h * d + i, len);
      a1[h] = Zero();
    }
    int64_t r = 0;
    for (; r + 2 <= n; r += 2) {
      const float* v0 = v + r * stride + i;
      const VF x0 = full ? Load(v0) : LoadN(v0, len);
      const VF x1 = full ? Load(v0 + stride) : LoadN(v0 + stride, len);
#pragma GCC unroll 4
      for (int h = 0; h < HB; ++h) {
        a0[h] = MulAdd(Set1(p[h * kKeyChunk + r]), x0, a0[h]);
        a1[h] = MulAdd(Set1(p[h * kKeyChunk + r + 1]), x1, a1[h]);
      }
    }
    if (r < n) {
      const float* v0 = v + r * stride + i;
      const VF x0 = full ? Load(v0) : LoadN(v0, len);
#pragma GCC unroll 4
      for (int h = 0; h < HB; ++h) a0[h] = MulAdd(Set1(p[h * kKeyChunk + r]), x0, a0[h]);
    }
#pragma GCC unroll 4
    for (int h = 0; h < HB; ++h) {
      const VF sum = Add(a0[h], a1[h]);
      if (full) {
        Store(acc + h * d + i, sum);
      } else {
        StoreN(acc + h * d + i, sum, len);
      }
    }
  }
}

// Scores / AccumulateValues for a run-time head count hb in [1, kHb].
void ScoresAny(int hb, const float* q, int64_t d, const float* k, int64_t stride, int64_t n,
               float scale, float* s) {
  switch (hb) {
    case 1:
      return Scores<1>(q, d, k, stride, n, scale, s);
    case 2:
      return Scores<2>(q, d, k, stride, n, scale, s);
    case 3:
      return Scores<3>(q, d, k, stride, n, scale, s);
    default:
      return Scores<4>(q, d, k, stride, n, scale, s);
  }
}
void AccumulateAny(int hb, const float* p, const float* v, int64_t stride, int64_t n, int64_t d,
                   float* acc) {
  switch (hb) {
    case 1:
      return AccumulateValues<1>(p, v, stride, n, d, acc);
    case 2:
      return AccumulateValues<2>(p, v, stride, n, d, acc);
    case 3:
      return AccumulateValues<3>(p, v, stride, n, d, acc);
    default:
      return AccumulateValues<4>(p, v, stride, n, d, acc);
  }
}

// Scratch of one thread for tasks of up to `nh` heads.
struct Scratch {
  float* acc;  // f32 [nh, d] output accumulators
  float* s;    // f32 [nh, kKeyChunk] scores, then probabilities
  float* max;  // f32 [nh] running max score
  float* sum;  // f32 [nh] running sum of exp(score - max)
};

// out[h] = softmax_j(scale * q[h] · k_j) · v_j over keys j in [lo, hi], for the nh heads whose
// queries q [nh, d] and outputs out [nh, d] are contiguous; k, v point at key 0 of their KV
// head, rows `stride` floats apart.
void AttendHeads(const float* q, const float* k, const float* v, int64_t stride, int64_t lo,
                 int64_t hi, int64_t d, int64_t nh, float scale, const Scratch& w, float* out) {
  for (int64_t i = 0; i < nh * d; ++i) w.acc[i] = 0.0f;
  for (int64_t h = 0; h < nh; ++h) {
    w.max[h] = -__builtin_inff();
    w.sum[h] = 0.0f;
  }
  for (int64_t c0 = lo; c0 <= hi; c0 += kKeyChunk) {
    const int64_t n = MinI(kKeyChunk, hi + 1 - c0);
    for (int64_t h = 0; h < nh; h += kHb) {
      ScoresAny(static_cast<int>(MinI(kHb, nh - h)), q + h * d, d, k + c0 * stride, stride, n,
                scale, w.s + h * kKeyChunk);
    }
    for (int64_t h = 0; h < nh; ++h) {
      float* s = w.s + h * kKeyChunk;
      float chunk_max = s[0];
      for (int64_t r = 1; r < n; ++r) chunk_max = s[r] > chunk_max ? s[r] : chunk_max;
      if (chunk_max > w.max[h]) {
        // exp(-inf) = 0 on the first chunk, where acc and the sum are still 0.
        const float correction = expf(w.max[h] - chunk_max);
        w.sum[h] *= correction;
        const VF c = Set1(correction);
        float* acc = w.acc + h * d;
        int64_t i = 0;
        for (; i + kLanes <= d; i += kLanes) Store(acc + i, Mul(Load(acc + i), c));
        if (i < d) StoreN(acc + i, Mul(LoadN(acc + i, d - i), c), d - i);
        w.max[h] = chunk_max;
      }
      const VF m = Set1(w.max[h]);
      VF sum = Zero();
      int64_t r = 0;
      for (; r + kLanes <= n; r += kLanes) {
        const VF e = Exp(Sub(Load(s + r), m));
        Store(s + r, e);
        sum = Add(sum, e);
      }
      if (r < n) {  // padding lanes load -inf and contribute exp(-inf) = 0
        const VF e = Exp(Sub(LoadNFill(s + r, n - r, -__builtin_inff()), m));
        StoreN(s + r, e, n - r);
        sum = Add(sum, e);
      }
      w.sum[h] += ReduceAdd(sum);
    }
    for (int64_t h = 0; h < nh; h += kHb) {
      AccumulateAny(static_cast<int>(MinI(kHb, nh - h)), w.s + h * kKeyChunk, v + c0 * stride,
                    stride, n, d, w.acc + h * d);
    }
  }
  for (int64_t h = 0; h < nh; ++h) {
    const float inv = 1.0f / w.sum[h];
    for (int64_t i = 0; i < d; ++i) out[h * d + i] = w.acc[h * d + i] * inv;
  }
}

}  // namespace

void Attention(const float* q, const float* k, const float* v, float* out, int64_t n_q,
               int64_t n_kv, int64_t n_heads, int64_t n_kv_heads, int64_t head_dim, int64_t q_pos0,
               int64_t window, float scale) {
  const int64_t d = head_dim;
  const int64_t group = n_heads / n_kv_heads;
  const int64_t stride = n_kv_heads * d;  // floats between consecutive keys of one KV head
  const bool parallel = n_q * n_heads * n_kv * d >= kMinParallelMacs;
  // Split a group into `splits` head sets only if whole groups cannot keep every thread busy.
  const int64_t threads = parallel ? omp_get_max_threads() : 1;
  const int64_t groups = n_q * n_kv_heads;
  const int64_t want_splits = groups >= threads ? 1 : (threads + groups - 1) / groups;
  const int64_t heads_per_task = (group + MinI(group, want_splits) - 1) / MinI(group, want_splits);
  const int64_t splits = (group + heads_per_task - 1) / heads_per_task;
  const int64_t tasks = groups * splits;
#pragma omp parallel if (parallel && tasks > 1)
  {
    const int64_t nh = heads_per_task;
    float* buf = static_cast<float*>(malloc((nh * d + nh * kKeyChunk + 2 * nh) * sizeof(float)));
    const Scratch scratch{buf, buf + nh * d, buf + nh * d + nh * kKeyChunk,
                          buf + nh * d + nh * kKeyChunk + nh};
    // Chunk size 1 interleaves tokens, which balances the causal triangle of prefill.
#pragma omp for schedule(static, 1)
    for (int64_t t = 0; t < tasks; ++t) {
      const int64_t i = t / (n_kv_heads * splits);  // query token
      const int64_t g = t / splits % n_kv_heads;    // KV head
      const int64_t h0 = g * group + t % splits * heads_per_task;
      const int64_t nh_t = MinI(heads_per_task, (g + 1) * group - h0);
      const int64_t pos = q_pos0 + i;
      const int64_t hi = MinI(pos, n_kv - 1);
      const int64_t lo = window > 0 && pos - window + 1 > 0 ? pos - window + 1 : 0;
      const int64_t q_offset = (i * n_heads + h0) * d;
      AttendHeads(q + q_offset, k + g * d, v + g * d, stride, lo, hi, d, nh_t, scale, scratch,
                  out + q_offset);
    }
    free(buf);
  }
}

}  // namespace loom::kernels::LOOM_ISA
