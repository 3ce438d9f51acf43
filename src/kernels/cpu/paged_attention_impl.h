// Paged attention (kernels.h PagedAttention) shared by the ISAs. Included once by
// cpu/paged_attention_<isa>.cc after `#define LOOM_ISA <isa>` and its vec_<isa>.h; everything lands
// in namespace loom::kernels::LOOM_ISA (see matmul_impl.h for why).
//
// Same scheme as attention_impl.h, over a block table instead of contiguous K/V:
//  - A task is one (sequence, KV head, query token), with the query heads of that KV head's GQA
//    group; all tasks of the batch form one flat parallel loop, so a decode batch (many sequences,
//    one token each) and a single long prefill both spread over every thread. A group is split
//    into smaller head sets only when there would otherwise be fewer tasks than threads.
//    Tasks run KV-head-major within a sequence, so the threads working on one prefill walk the
//    same head's K/V (~2 x context x head_dim x 4 B) and keep it in L2.
//  - The keys a query sees form one contiguous range [lo, hi]; it is walked in chunks of
//    kKeyChunk keys whose row pointers are looked up in the block table once per chunk (any
//    block size). Online softmax in f32 per chunk: scores -> chunk max -> rescale running sum and
//    accumulator -> exp -> accumulate p · v. Register blocks of up to kHb heads share every K/V
//    load, and every q load feeds kKeysPerGroup keys (every p load two vectors of v), so L1 loads
//    do not cap the FMA rate (measured: prefill +10-15% over one key / one vector per step);
//    f16/bf16 rows are widened to f32 in registers as they are loaded.
//  - One KV head's rows are contiguous within a block (the cache layout, kernels.h: 2 KiB runs
//    for 16 bf16 rows of 64), but the blocks are scattered over the cache, which the hardware
//    prefetchers do not follow; each K row is software-prefetched kPrefetchRows rows ahead, and
//    each V row while its key's score is computed. Measured (16 sequences x 256 keys x 16 layers,
//    bf16, d = 64): head-major blocks against token-major ones (a head's rows 1 KiB apart)
//    7.3-7.8 -> 6.8-6.9 ms; scores reduced 16 at a time (Scores) -> 5.8-6.8; 16 rows ahead
//    instead of 8 -> 5.1-5.3 (32: the same).
#include <math.h>  // expf: a plain C function, nothing inline shared across ISAs
#include <omp.h>
#include <stdlib.h>

#include "kernels/cpu/cpu_kernels.h"

#ifndef LOOM_ISA
#error "define LOOM_ISA and include kernels/cpu/vec_<isa>.h before paged_attention_impl.h"
#endif

namespace loom::kernels::LOOM_ISA {
namespace {

constexpr int64_t kKeyChunk = 128;     // keys per online-softmax step
constexpr int64_t kPrefetchRows = 16;  // K rows prefetched ahead of the one being scored
constexpr int kHb = 4;                 // heads per register block
constexpr int64_t kMinParallelMacs = int64_t{1} << 16;
constexpr int64_t kLine = 64;  // cache line bytes

inline int64_t MinI(int64_t a, int64_t b) { return a < b ? a : b; }

// Prefetches the `bytes` bytes at p (any alignment) into L1: one request per line they touch.
inline void PrefetchRow(const void* p, int64_t bytes) {
  const int64_t misalign = static_cast<int64_t>(reinterpret_cast<uintptr_t>(p) % kLine);
  for (int64_t b = -misalign; b < bytes; b += kLine) PrefetchAhead(p, b);
}

// s[h * kKeyChunk + r] = scale * q[h * d : +d] · k[r][0 : d] for h < HB, r < n (and, unused,
// for r up to the next multiple of kKeysPerGroup). k has n + kPrefetchRows valid row pointers (the
// tail repeats rows; only prefetched). v[r] is prefetched as k[r] is scored. A group of
// kKeysPerGroup keys and the kHb heads fill kLanes accumulators (h * kKeysPerGroup + j) that one
// transpose-and-add tree (ReduceLanes) sums into one vector: every K load feeds HB FMAs, and no
// dot product takes a reduction of its own (16 of them had cost more than the FMAs at d = 64).
// Each dot product's summation order is the same in every lane, so a score does not depend on
// where its head or key sits in the group.
constexpr int kKeysPerGroup = static_cast<int>(kLanes) / kHb;
static_assert(kKeyChunk % kKeysPerGroup == 0 && kKeysPerGroup - 1 <= kPrefetchRows);

template <class W, int HB>
void Scores(const float* q, int64_t d, const typename W::T* const* k, const typename W::T* const* v,
            int64_t n, float scale, float* s) {
  constexpr int R = kKeysPerGroup;
  const int64_t row_bytes = d * static_cast<int64_t>(sizeof(typename W::T));
  for (int64_t r0 = 0; r0 < n; r0 += R) {
#pragma GCC unroll 4
    for (int j = 0; j < R; ++j) {
      if (r0 + j < n) {
        PrefetchRow(k[r0 + j + kPrefetchRows], row_bytes);
        PrefetchRow(v[r0 + j], row_bytes);
      }
    }
    VF acc[kLanes];
#pragma GCC unroll 16
    for (int t = 0; t < kLanes; ++t) acc[t] = Zero();
    int64_t i = 0;
    for (; i + kLanes <= d; i += kLanes) {
      VF x[R];
#pragma GCC unroll 4
      for (int j = 0; j < R; ++j) x[j] = W::Load(k[r0 + j] + i);
#pragma GCC unroll 4
      for (int h = 0; h < HB; ++h) {
        const VF qv = Load(q + h * d + i);
#pragma GCC unroll 4
        for (int j = 0; j < R; ++j) acc[h * R + j] = MulAdd(qv, x[j], acc[h * R + j]);
      }
    }
    if (i < d) {
      VF x[R];
#pragma GCC unroll 4
      for (int j = 0; j < R; ++j) x[j] = W::LoadN(k[r0 + j] + i, d - i);
#pragma GCC unroll 4
      for (int h = 0; h < HB; ++h) {
        const VF qv = LoadN(q + h * d + i, d - i);
#pragma GCC unroll 4
        for (int j = 0; j < R; ++j) acc[h * R + j] = MulAdd(qv, x[j], acc[h * R + j]);
      }
    }
    float sums[kLanes];
    Store(sums, Mul(ReduceLanes(acc), Set1(scale)));
#pragma GCC unroll 4
    for (int h = 0; h < HB; ++h) {
#pragma GCC unroll 4
      for (int j = 0; j < R; ++j) s[h * kKeyChunk + r0 + j] = sums[h * R + j];
    }
  }
}

// acc[h * d : +d] += sum_r p[h * kKeyChunk + r] * v[r][0 : d] for h < HB, r < n, over `NS`
// vectors of d per pass (NS * HB accumulators in registers across all n keys): each broadcast
// probability feeds NS FMAs. `len` = elements in the last vector of the pass (kLanes if full).
template <class W, int HB, int NS>
void AccumulatePass(const float* p, const typename W::T* const* v, int64_t n, int64_t d, int64_t i,
                    int64_t len, float* acc) {
  VF a[HB][NS];
#pragma GCC unroll 4
  for (int h = 0; h < HB; ++h) {
#pragma GCC unroll 4
    for (int j = 0; j < NS; ++j) {
      const float* at = acc + h * d + i + j * kLanes;
      a[h][j] = j + 1 < NS || len == kLanes ? Load(at) : LoadN(at, len);
    }
  }
  for (int64_t r = 0; r < n; ++r) {
    VF x[NS];
#pragma GCC unroll 4
    for (int j = 0; j < NS; ++j) {
      const typename W::T* at = v[r] + i + j * kLanes;
      x[j] = j + 1 < NS || len == kLanes ? W::Load(at) : W::LoadN(at, len);
    }
#pragma GCC unroll 4
    for (int h = 0; h < HB; ++h) {
      const VF pv = Set1(p[h * kKeyChunk + r]);
#pragma GCC unroll 4
      for (int j = 0; j < NS; ++j) a[h][j] = MulAdd(pv, x[j], a[h][j]);
    }
  }
#pragma GCC unroll 4
  for (int h = 0; h < HB; ++h) {
#pragma GCC unroll 4
    for (int j = 0; j < NS; ++j) {
      float* at = acc + h * d + i + j * kLanes;
      if (j + 1 < NS || len == kLanes) {
        Store(at, a[h][j]);
      } else {
        StoreN(at, a[h][j], len);
      }
    }
  }
}

// acc[h * d : +d] += sum_r p[h * kKeyChunk + r] * v[r][0 : d] for h < HB, r < n: two vectors of
// d per pass over the keys, then a last single one if d needs an odd count.
template <class W, int HB>
void AccumulateValues(const float* p, const typename W::T* const* v, int64_t n, int64_t d,
                      float* acc) {
  int64_t i = 0;
  for (; i + kLanes < d; i += 2 * kLanes) {
    AccumulatePass<W, HB, 2>(p, v, n, d, i, MinI(kLanes, d - i - kLanes), acc);
  }
  if (i < d) AccumulatePass<W, HB, 1>(p, v, n, d, i, d - i, acc);
}

// Scores / AccumulateValues for a run-time head count hb in [1, kHb].
template <class W>
void ScoresAny(int hb, const float* q, int64_t d, const typename W::T* const* k,
               const typename W::T* const* v, int64_t n, float scale, float* s) {
  switch (hb) {
    case 1:
      return Scores<W, 1>(q, d, k, v, n, scale, s);
    case 2:
      return Scores<W, 2>(q, d, k, v, n, scale, s);
    case 3:
      return Scores<W, 3>(q, d, k, v, n, scale, s);
    default:
      return Scores<W, 4>(q, d, k, v, n, scale, s);
  }
}
template <class W>
void AccumulateAny(int hb, const float* p, const typename W::T* const* v, int64_t n, int64_t d,
                   float* acc) {
  switch (hb) {
    case 1:
      return AccumulateValues<W, 1>(p, v, n, d, acc);
    case 2:
      return AccumulateValues<W, 2>(p, v, n, d, acc);
    case 3:
      return AccumulateValues<W, 3>(p, v, n, d, acc);
    default:
      return AccumulateValues<W, 4>(p, v, n, d, acc);
  }
}

// Scratch of one thread for tasks of up to `nh` heads.
struct Scratch {
  float* acc;  // f32 [nh, d] output accumulators
  float* s;    // f32 [nh, kKeyChunk] scores, then probabilities
  float* max;  // f32 [nh] running max score
  float* sum;  // f32 [nh] running sum of exp(score - max)
};

// Where one KV head's rows of one sequence live (the cache layout: kernels.h).
template <class W>
struct KvView {
  const typename W::T* k;  // this KV head's row 0 of block 0, and likewise v
  const typename W::T* v;
  int64_t block_elems;   // elements between blocks (n_kv_heads * block_size * head_dim)
  int64_t d;             // elements between a head's consecutive rows in a block (head_dim)
  const int32_t* table;  // the sequence's block table
  int64_t block_size;
};

// Row pointers of keys [j0, j0 + n) into k[0 : n], v[0 : n].
template <class W>
void GatherRows(const KvView<W>& kv, int64_t j0, int64_t n, const typename W::T** k,
                const typename W::T** v) {
  int64_t b = j0 / kv.block_size;
  int64_t off = j0 - b * kv.block_size;
  for (int64_t r = 0; r < n; ++r) {
    const int64_t row = int64_t{kv.table[b]} * kv.block_elems + off * kv.d;
    k[r] = kv.k + row;
    v[r] = kv.v + row;
    if (++off == kv.block_size) {
      off = 0;
      ++b;
    }
  }
}

// out[h] = softmax_j(scale * q[h] · k_j) · v_j over keys j in [lo, hi] of `kv`, for the nh heads
// whose queries q [nh, d] and outputs out [nh, d] are contiguous.
template <class W>
void AttendHeads(const float* q, const KvView<W>& kv, int64_t lo, int64_t hi, int64_t d, int64_t nh,
                 float scale, const Scratch& w, float* out) {
  using T = typename W::T;
  const T* krows[kKeyChunk + kPrefetchRows];
  const T* vrows[kKeyChunk + kPrefetchRows];
  for (int64_t i = 0; i < nh * d; ++i) w.acc[i] = 0.0f;
  for (int64_t h = 0; h < nh; ++h) {
    w.max[h] = -__builtin_inff();
    w.sum[h] = 0.0f;
  }
  for (int64_t c0 = lo; c0 <= hi; c0 += kKeyChunk) {
    const int64_t n = MinI(kKeyChunk, hi + 1 - c0);
    // Rows past the chunk are for the K prefetch only: the next chunk's first rows, then repeats.
    const int64_t n_rows = MinI(n + kPrefetchRows, hi + 1 - c0);
    GatherRows(kv, c0, n_rows, krows, vrows);
    for (int64_t r = n_rows; r < n + kPrefetchRows; ++r) krows[r] = krows[n_rows - 1];
    for (int64_t h = 0; h < nh; h += kHb) {
      ScoresAny<W>(static_cast<int>(MinI(kHb, nh - h)), q + h * d, d, krows, vrows, n, scale,
                   w.s + h * kKeyChunk);
    }
    for (int64_t h = 0; h < nh; ++h) {
      float* s = w.s + h * kKeyChunk;
      VF vmax = Set1(-__builtin_inff());
      int64_t j = 0;
      for (; j + kLanes <= n; j += kLanes) vmax = Max(Load(s + j), vmax);  // Max(x, m): m if x NaN
      if (j < n) vmax = Max(LoadNFill(s + j, n - j, -__builtin_inff()), vmax);
      const float chunk_max = ReduceMax(vmax);
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
      AccumulateAny<W>(static_cast<int>(MinI(kHb, nh - h)), w.s + h * kKeyChunk, vrows, n, d,
                       w.acc + h * d);
    }
  }
  for (int64_t h = 0; h < nh; ++h) {
    const float inv = 1.0f / w.sum[h];
    for (int64_t i = 0; i < d; ++i) out[h * d + i] = w.acc[h * d + i] * inv;
  }
}

// The sequence owning q row `row`: the s with query_start[s] <= row < query_start[s + 1]
// (sequences with no queries are skipped).
int64_t SequenceOfRow(const int64_t* query_start, int64_t num_seqs, int64_t row) {
  int64_t lo = 0, hi = num_seqs - 1;
  while (lo < hi) {
    const int64_t mid = lo + (hi - lo) / 2;
    if (query_start[mid + 1] > row) {
      hi = mid;
    } else {
      lo = mid + 1;
    }
  }
  return lo;
}

template <class W>
void PagedAttentionT(const float* q, const void* k_cache, const void* v_cache, int64_t block_size,
                     const int32_t* block_tables, int64_t max_blocks_per_seq,
                     const int64_t* query_start, const int64_t* context_lens, int64_t num_seqs,
                     float* out, int64_t n_heads, int64_t n_kv_heads, int64_t head_dim,
                     int64_t window, float scale) {
  using T = typename W::T;
  const int64_t d = head_dim;
  const int64_t group = n_heads / n_kv_heads;
  const int64_t block_elems = n_kv_heads * block_size * d;
  const int64_t row0 = query_start[0];
  const int64_t total_q = query_start[num_seqs] - row0;
  int64_t macs = 0;  // upper bound: every query against its whole context
  for (int64_t s = 0; s < num_seqs; ++s) {
    macs += (query_start[s + 1] - query_start[s]) * context_lens[s];
  }
  macs *= n_heads * d;
  const bool parallel = macs >= kMinParallelMacs;
  // Split a group into `splits` head sets only if whole groups cannot keep every thread busy.
  const int64_t threads = parallel ? omp_get_max_threads() : 1;
  const int64_t groups = total_q * n_kv_heads;
  const int64_t want_splits = groups >= threads ? 1 : (threads + groups - 1) / groups;
  const int64_t heads_per_task = (group + MinI(group, want_splits) - 1) / MinI(group, want_splits);
  const int64_t splits = (group + heads_per_task - 1) / heads_per_task;
  const int64_t per_row = n_kv_heads * splits;  // tasks per query row
  const int64_t tasks = total_q * per_row;
#pragma omp parallel if (parallel && tasks > 1)
  {
    const int64_t nh = heads_per_task;
    float* buf = static_cast<float*>(malloc((nh * d + nh * kKeyChunk + 2 * nh) * sizeof(float)));
    const Scratch scratch{buf, buf + nh * d, buf + nh * d + nh * kKeyChunk,
                          buf + nh * d + nh * kKeyChunk + nh};
    // Dynamic: tasks differ in cost (context lengths, the causal triangle of prefill).
#pragma omp for schedule(dynamic, 1)
    for (int64_t t = 0; t < tasks; ++t) {
      // Sequence s owns tasks [(query_start[s] - row0) * per_row, (query_start[s + 1] - row0) *
      // per_row), ordered (KV head, head set, query token).
      const int64_t s = SequenceOfRow(query_start, num_seqs, row0 + t / per_row);
      const int64_t n_q = query_start[s + 1] - query_start[s];
      const int64_t local = t - (query_start[s] - row0) * per_row;
      const int64_t i = local % n_q;           // query token within the sequence
      const int64_t g = local / n_q / splits;  // KV head
      const int64_t h0 = g * group + local / n_q % splits * heads_per_task;
      const int64_t nh_t = MinI(heads_per_task, (g + 1) * group - h0);
      const int64_t pos = context_lens[s] - n_q + i;
      const int64_t lo = window > 0 && pos - window + 1 > 0 ? pos - window + 1 : 0;
      const KvView<W> kv{static_cast<const T*>(k_cache) + g * block_size * d,
                         static_cast<const T*>(v_cache) + g * block_size * d,
                         block_elems,
                         d,
                         block_tables + s * max_blocks_per_seq,
                         block_size};
      const int64_t q_offset = ((query_start[s] + i) * n_heads + h0) * d;
      AttendHeads(q + q_offset, kv, lo, pos, d, nh_t, scale, scratch, out + q_offset);
    }
    free(buf);
  }
}

}  // namespace

void PagedAttention(const float* q, const void* k_cache, const void* v_cache, DType kv_dtype,
                    int64_t block_size, const int32_t* block_tables, int64_t max_blocks_per_seq,
                    const int64_t* query_start, const int64_t* context_lens, int64_t num_seqs,
                    float* out, int64_t n_heads, int64_t n_kv_heads, int64_t head_dim,
                    int64_t window, float scale) {
  if (num_seqs <= 0) return;
  switch (kv_dtype) {
    case DType::kF32:
      return PagedAttentionT<WeightF32>(q, k_cache, v_cache, block_size, block_tables,
                                        max_blocks_per_seq, query_start, context_lens, num_seqs,
                                        out, n_heads, n_kv_heads, head_dim, window, scale);
    case DType::kF16:
      return PagedAttentionT<WeightF16>(q, k_cache, v_cache, block_size, block_tables,
                                        max_blocks_per_seq, query_start, context_lens, num_seqs,
                                        out, n_heads, n_kv_heads, head_dim, window, scale);
    case DType::kBF16:
      return PagedAttentionT<WeightBF16>(q, k_cache, v_cache, block_size, block_tables,
                                         max_blocks_per_seq, query_start, context_lens, num_seqs,
                                         out, n_heads, n_kv_heads, head_dim, window, scale);
    default:
      return;  // KV caches are f32, f16 or bf16
  }
}

}  // namespace loom::kernels::LOOM_ISA
