// Paged KV cache kernels: WriteKv against the scalar conversions, the reference PagedAttention
// against the contiguous reference Attention on the same K/V, and every fast path (called
// directly per ISA, skipped where the CPU lacks it) against the reference on random inputs.
//
// Tolerances follow kernels_test.cc (u = 2^-24, eps = FLT_EPSILON = 2u):
//  - The two references both compute in double and round once to f32, so each is within u of the
//    exact result plus a double-precision error of ~(n_ctx + d) 2^-53 (|v| <= 1): they may differ
//    by eps |want| + 1e-12.
//  - Fast path vs reference, q, k, v in [-1, 1]: each score is a dot of length d with error
//    <= (d + 2) eps * d * scale (sum |q k| <= d); probabilities inherit ~2x that (score and
//    max), plus exp and the normaliser over n_ctx terms, (8 + n_ctx) eps relative; the output is
//    a convex combination of |v| <= 1 accumulated over n_ctx terms: + n_ctx eps absolute.
//    f16/bf16 K/V: the reference reads the very same 16-bit values, which widen to f32 exactly,
//    so the cache dtype adds no error (its quantisation is common to both sides).
#include <gtest/gtest.h>
#include <omp.h>

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <numeric>
#include <random>
#include <string>
#include <vector>

#include "core/dtype.h"
#include "kernel_test_util.h"
#include "kernels/cpu/cpu_kernels.h"
#include "kernels/dispatch.h"
#include "kernels/kernels.h"
#include "kernels/ref/ref.h"

namespace loom::kernels {
namespace {

float CacheValue(const std::vector<uint8_t>& cache, DType dtype, int64_t i) {
  if (dtype == DType::kF32) {
    float f;
    std::memcpy(&f, cache.data() + 4 * i, 4);
    return f;
  }
  uint16_t h;
  std::memcpy(&h, cache.data() + 2 * i, 2);
  return dtype == DType::kBF16 ? BF16ToF32(h) : F16ToF32(h);
}

struct SeqShape {
  int64_t n_ctx;  // keys in the cache, this step's included
  int64_t n_q;    // queries this step (the last n_q positions)
};

struct Config {
  int64_t block_size, n_heads, n_kv_heads, head_dim, window;
  DType dtype;

  std::string Name() const {
    return "block_size=" + std::to_string(block_size) + " heads=" + std::to_string(n_heads) + "/" +
           std::to_string(n_kv_heads) + " head_dim=" + std::to_string(head_dim) +
           " window=" + std::to_string(window) + " kv=" + std::string(DTypeName(dtype));
  }
};

// A batch of sequences whose K/V live in a paged cache under randomly permuted block ids, and the
// same K/V (as stored, i.e. after rounding to the cache dtype) contiguous per sequence.
struct PagedBatch {
  Config c;
  int64_t num_blocks = 0, max_blocks = 0;
  std::vector<int64_t> query_start;       // int64 [num_seqs + 1]
  std::vector<int64_t> context_lens;      // int64 [num_seqs]
  std::vector<int32_t> block_tables;      // int32 [num_seqs, max_blocks]; -1 past a sequence's end
  std::vector<float> q;                   // f32 [total_q, n_heads, head_dim]
  std::vector<std::vector<float>> k, v;   // per sequence f32 [n_ctx, n_kv_heads, head_dim]
  std::vector<uint8_t> k_cache, v_cache;  // dtype [num_blocks, n_kv_heads, block_size, head_dim]

  int64_t NumSeqs() const { return static_cast<int64_t>(context_lens.size()); }
  int64_t TotalQ() const { return query_start.back(); }
  float Scale() const { return 1.0f / std::sqrt(static_cast<float>(c.head_dim)); }
};

PagedBatch MakeBatch(const std::vector<SeqShape>& seqs, const Config& c, uint32_t seed) {
  PagedBatch b;
  b.c = c;
  const int64_t bs = c.block_size, d = c.head_dim, row = c.n_kv_heads * d;
  int64_t needed = 0;
  b.query_start = {0};
  for (const SeqShape& s : seqs) {
    const int64_t blocks = (s.n_ctx + bs - 1) / bs;
    needed += blocks;
    b.max_blocks = std::max(b.max_blocks, blocks + 1);  // + 1: an unused (-1) entry for everyone
    b.context_lens.push_back(s.n_ctx);
    b.query_start.push_back(b.query_start.back() + s.n_q);
  }
  b.num_blocks = needed + 3;  // spare blocks stay unwritten (NaN)
  std::mt19937 rng(seed);
  std::vector<int32_t> ids(b.num_blocks);
  std::iota(ids.begin(), ids.end(), 0);
  std::shuffle(ids.begin(), ids.end(), rng);
  // All-ones bytes are NaN in f32, f16 and bf16: any read of an unwritten row poisons the output.
  const size_t cache_bytes = b.num_blocks * bs * row * DTypeSize(c.dtype);
  b.k_cache.assign(cache_bytes, 0xFF);
  b.v_cache.assign(cache_bytes, 0xFF);
  b.block_tables.assign(seqs.size() * b.max_blocks, -1);
  b.q = RandomVector(b.TotalQ() * c.n_heads * d, -1, 1, seed + 1);
  size_t next_block = 0;
  for (size_t s = 0; s < seqs.size(); ++s) {
    const int64_t n_ctx = seqs[s].n_ctx;
    int32_t* table = b.block_tables.data() + s * b.max_blocks;
    for (int64_t j = 0; j < (n_ctx + bs - 1) / bs; ++j) table[j] = ids[next_block++];
    const std::vector<float> k = RandomVector(n_ctx * row, -1, 1, seed + 2 + 2 * s);
    const std::vector<float> v = RandomVector(n_ctx * row, -1, 1, seed + 3 + 2 * s);
    std::vector<int64_t> slots(n_ctx);
    for (int64_t j = 0; j < n_ctx; ++j) slots[j] = int64_t{table[j / bs]} * bs + j % bs;
    WriteKv(k.data(), v.data(), b.k_cache.data(), b.v_cache.data(), c.dtype, slots.data(), n_ctx,
            c.n_kv_heads, d, bs);
    b.k.emplace_back(n_ctx * row);
    b.v.emplace_back(n_ctx * row);
    for (int64_t j = 0; j < n_ctx; ++j) {
      for (int64_t e = 0; e < row; ++e) {
        const int64_t at = KvCacheOffset(slots[j], e / d, c.n_kv_heads, d, bs) + e % d;
        b.k[s][j * row + e] = CacheValue(b.k_cache, c.dtype, at);
        b.v[s][j * row + e] = CacheValue(b.v_cache, c.dtype, at);
      }
    }
  }
  return b;
}

using PagedAttentionFn = decltype(&ref::PagedAttention);

std::vector<float> RunPaged(PagedAttentionFn fn, const PagedBatch& b) {
  std::vector<float> out(b.q.size(), std::numeric_limits<float>::quiet_NaN());
  fn(b.q.data(), b.k_cache.data(), b.v_cache.data(), b.c.dtype, b.c.block_size,
     b.block_tables.data(), b.max_blocks, b.query_start.data(), b.context_lens.data(), b.NumSeqs(),
     out.data(), b.c.n_heads, b.c.n_kv_heads, b.c.head_dim, b.c.window, b.Scale());
  return out;
}

// ref::Attention per sequence on its contiguous K/V.
std::vector<float> RunContiguous(const PagedBatch& b) {
  std::vector<float> out(b.q.size(), std::numeric_limits<float>::quiet_NaN());
  const int64_t q_row = b.c.n_heads * b.c.head_dim;
  for (int64_t s = 0; s < b.NumSeqs(); ++s) {
    const int64_t n_q = b.query_start[s + 1] - b.query_start[s];
    const int64_t n_ctx = b.context_lens[s];
    ref::Attention(b.q.data() + b.query_start[s] * q_row, b.k[s].data(), b.v[s].data(),
                   out.data() + b.query_start[s] * q_row, n_q, n_ctx, b.c.n_heads, b.c.n_kv_heads,
                   b.c.head_dim, n_ctx - n_q, b.c.window, b.Scale());
  }
  return out;
}

// The fast-path tolerance of the header comment, per output element (by its sequence's n_ctx).
std::vector<double> FastTol(const PagedBatch& b) {
  const int64_t d = b.c.head_dim;
  const double score_err = (d + 2) * kEps * d * b.Scale();
  std::vector<double> tol(b.q.size());
  const int64_t q_row = b.c.n_heads * d;
  for (int64_t s = 0; s < b.NumSeqs(); ++s) {
    const double atol = 2 * score_err + (8 + 2 * b.context_lens[s]) * kEps;
    for (int64_t i = b.query_start[s] * q_row; i < b.query_start[s + 1] * q_row; ++i) {
      tol[i] = atol;
    }
  }
  return tol;
}

std::vector<Config> Configs(const std::vector<DType>& dtypes, const std::vector<int64_t>& windows) {
  struct Heads {
    int64_t n_heads, n_kv_heads;
  };
  std::vector<Config> configs;
  for (DType dtype : dtypes) {
    for (int64_t block_size : {16, 5}) {
      for (Heads h : {Heads{8, 2}, Heads{4, 4}}) {
        for (int64_t head_dim : {64, 80, 40}) {
          for (int64_t window : windows) {
            configs.push_back({block_size, h.n_heads, h.n_kv_heads, head_dim, window, dtype});
          }
        }
      }
    }
  }
  return configs;
}

// Decode (1 query), full prefill (n_q = n_ctx), chunked prefill continuing a cached prefix
// (n_q < n_ctx), a single-key sequence, a sequence with no queries this step, mixed lengths.
std::vector<SeqShape> MixedBatch() {
  return {{37, 1}, {1, 1}, {50, 50}, {70, 20}, {16, 3}, {12, 0}, {33, 1}, {21, 1}};
}

// ---------------------------------------------------------------------------------------------
// WriteKv.

TEST(WriteKv, RoundTripAndNegativeSlotsSkipped) {
  const int64_t heads = 2, d = 40, bs = 4, row = heads * d, num_slots = 12;  // 3 blocks of 4
  const std::vector<int64_t> slots = {3, -1, 0, 9, -5, 4, 11};
  const int64_t n = static_cast<int64_t>(slots.size());
  std::vector<float> k = RandomVector(n * row, -3, 3, 40);
  std::vector<float> v = RandomVector(n * row, -3, 3, 41);
  // Values that exercise rounding: ties (to even) in bf16 and f16, f16 overflow and subnormals.
  const std::vector<float> special = {1.0f + 0x1p-8f, 1.0f + 3 * 0x1p-8f, 1.0f + 0x1p-11f, 65520.0f,
                                      -1e6f,          0x1p-24f,           0x1p-25f,        -0.0f,
                                      1e-30f};
  std::copy(special.begin(), special.end(), k.begin());
  std::copy(special.begin(), special.end(), v.begin() + 2 * row);
  for (DType dtype : {DType::kF32, DType::kF16, DType::kBF16}) {
    SCOPED_TRACE(std::string(DTypeName(dtype)));
    const size_t bytes = num_slots * row * DTypeSize(dtype);
    std::vector<uint8_t> k_cache(bytes, 0xAB), v_cache(bytes, 0xAB);
    WriteKv(k.data(), v.data(), k_cache.data(), v_cache.data(), dtype, slots.data(), n, heads, d,
            bs);
    std::vector<bool> written(num_slots, false);
    for (int64_t i = 0; i < n; ++i) {
      if (slots[i] < 0) continue;
      written[slots[i]] = true;
      for (int64_t e = 0; e < row; ++e) {
        const size_t at = KvCacheOffset(slots[i], e / d, heads, d, bs) + e % d;
        for (const auto& [src, cache] : {std::pair{&k, &k_cache}, std::pair{&v, &v_cache}}) {
          const float x = (*src)[i * row + e];
          if (dtype == DType::kF32) {
            uint32_t got, want;  // bits: -0.0f must stay -0.0f
            std::memcpy(&got, cache->data() + 4 * at, 4);
            std::memcpy(&want, &x, 4);
            ASSERT_EQ(got, want) << "token " << i << " elem " << e;
          } else {
            uint16_t got;
            std::memcpy(&got, cache->data() + 2 * at, 2);
            ASSERT_EQ(got, dtype == DType::kBF16 ? F32ToBF16(x) : F32ToF16(x))
                << "token " << i << " elem " << e << " value " << x;
          }
        }
      }
    }
    const size_t head_bytes = d * DTypeSize(dtype);
    for (int64_t slot = 0; slot < num_slots; ++slot) {
      if (written[slot]) continue;
      for (int64_t h = 0; h < heads; ++h) {
        const size_t at = KvCacheOffset(slot, h, heads, d, bs) * DTypeSize(dtype);
        for (size_t i = at; i < at + head_bytes; ++i) {
          ASSERT_EQ(k_cache[i], 0xAB) << "slot " << slot << " head " << h;
          ASSERT_EQ(v_cache[i], 0xAB) << "slot " << slot << " head " << h;
        }
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Reference PagedAttention against the contiguous reference.

TEST(RefPagedAttention, MatchesContiguousReference) {
  uint32_t seed = 100;
  for (const Config& c : Configs({DType::kF32}, {0, 7})) {
    SCOPED_TRACE(c.Name());
    const PagedBatch b = MakeBatch(MixedBatch(), c, seed += 50);
    const std::vector<float> want = RunContiguous(b);
    const std::vector<float> got = RunPaged(ref::PagedAttention, b);
    std::vector<double> tol(want.size());
    for (size_t i = 0; i < want.size(); ++i) tol[i] = kEps * std::fabs(want[i]) + 1e-12;
    ExpectWithin(got, want, tol, "ref::PagedAttention vs ref::Attention");
  }
}

TEST(RefPagedAttention, HalfCacheMatchesContiguousReferenceOnStoredValues) {
  // The contiguous K/V of MakeBatch are the cache's values widened back to f32.
  uint32_t seed = 3000;
  for (DType dtype : {DType::kF16, DType::kBF16}) {
    const Config c{5, 8, 2, 40, 0, dtype};
    SCOPED_TRACE(c.Name());
    const PagedBatch b = MakeBatch(MixedBatch(), c, seed += 50);
    const std::vector<float> want = RunContiguous(b);
    const std::vector<float> got = RunPaged(ref::PagedAttention, b);
    std::vector<double> tol(want.size());
    for (size_t i = 0; i < want.size(); ++i) tol[i] = kEps * std::fabs(want[i]) + 1e-12;
    ExpectWithin(got, want, tol, "ref::PagedAttention vs ref::Attention");
  }
}

TEST(Dispatch, PagedAttentionMatchesReference) {
  const PagedBatch b = MakeBatch(MixedBatch(), {16, 8, 2, 64, 0, DType::kBF16}, 7);
  ExpectWithin(RunPaged(PagedAttention, b), RunPaged(ref::PagedAttention, b), FastTol(b),
               "PagedAttention");
}

// ---------------------------------------------------------------------------------------------
// Fast paths against the reference, per ISA.

class FastPagedAttentionTest : public ::testing::TestWithParam<Isa> {
 protected:
  void SetUp() override {
    if (!IsaSupported(GetParam())) {
      GTEST_SKIP() << "CPU lacks " << IsaName(GetParam());
    }
    fn_ = GetParam() == Isa::kAvx512 ? avx512::PagedAttention : avx2::PagedAttention;
  }
  PagedAttentionFn fn_ = nullptr;
};

INSTANTIATE_TEST_SUITE_P(Isas, FastPagedAttentionTest, ::testing::Values(Isa::kAvx2, Isa::kAvx512),
                         [](const ::testing::TestParamInfo<Isa>& info) {
                           return std::string(IsaName(info.param));
                         });

TEST_P(FastPagedAttentionTest, MatchesReferenceMixedBatch) {
  uint32_t seed = 1000;
  for (const Config& c : Configs({DType::kF32, DType::kF16, DType::kBF16}, {0, 7})) {
    SCOPED_TRACE(c.Name());
    const PagedBatch b = MakeBatch(MixedBatch(), c, seed += 50);
    ExpectWithin(RunPaged(fn_, b), RunPaged(ref::PagedAttention, b), FastTol(b), "PagedAttention");
  }
}

TEST_P(FastPagedAttentionTest, MatchesReferenceLongContexts) {
  // Contexts over several key chunks (online-softmax rescaling), windows inside and beyond them.
  const std::vector<SeqShape> seqs = {{300, 1}, {200, 40}, {129, 1}, {257, 2}};
  uint32_t seed = 2000;
  for (DType dtype : {DType::kF32, DType::kF16, DType::kBF16}) {
    for (int64_t window : {0, 100, 150}) {
      const Config c{16, 8, 2, 80, window, dtype};
      SCOPED_TRACE(c.Name());
      const PagedBatch b = MakeBatch(seqs, c, seed += 50);
      ExpectWithin(RunPaged(fn_, b), RunPaged(ref::PagedAttention, b), FastTol(b),
                   "PagedAttention");
    }
  }
}

TEST_P(FastPagedAttentionTest, SplitsGroupAcrossThreads) {
  // One decode token with one KV head (MQA) is a single GQA group; with 3 threads the fast path
  // splits its 8 query heads into head sets of 3, 3 and 2.
  const int saved_threads = omp_get_max_threads();
  omp_set_num_threads(3);
  for (DType dtype : {DType::kF32, DType::kBF16}) {
    const Config c{16, 8, 1, 64, 0, dtype};
    SCOPED_TRACE(c.Name());
    const PagedBatch b = MakeBatch({{150, 1}}, c, 77);
    ExpectWithin(RunPaged(fn_, b), RunPaged(ref::PagedAttention, b), FastTol(b),
                 "PagedAttention MQA");
  }
  omp_set_num_threads(saved_threads);
}

TEST_P(FastPagedAttentionTest, SingleVisibleKeyIsExact) {
  // Window 1: each query sees only its own position, so its softmax weight is exactly 1 and the
  // output must equal the cached v (widened) bit for bit; checks the block-table addressing alone.
  for (DType dtype : {DType::kF32, DType::kF16, DType::kBF16}) {
    const Config c{5, 8, 2, 40, 1, dtype};
    SCOPED_TRACE(c.Name());
    const PagedBatch b = MakeBatch({{13, 6}, {7, 1}, {11, 11}}, c, 88);
    const std::vector<float> out = RunPaged(fn_, b);
    const int64_t d = c.head_dim, group = c.n_heads / c.n_kv_heads;
    for (int64_t s = 0; s < b.NumSeqs(); ++s) {
      const int64_t n_q = b.query_start[s + 1] - b.query_start[s];
      for (int64_t i = 0; i < n_q; ++i) {
        const int64_t pos = b.context_lens[s] - n_q + i;
        for (int64_t h = 0; h < c.n_heads; ++h) {
          for (int64_t e = 0; e < d; ++e) {
            ASSERT_EQ(out[((b.query_start[s] + i) * c.n_heads + h) * d + e],
                      b.v[s][(pos * c.n_kv_heads + h / group) * d + e])
                << "seq " << s << " query " << i << " head " << h;
          }
        }
      }
    }
  }
}

TEST_P(FastPagedAttentionTest, DecodeBatchIndependentOfThreadCount) {
  // 16 decode sequences of mixed lengths: enough work to run on every thread. Each task's
  // arithmetic does not depend on which thread runs it, so 1 and 2 threads agree bit for bit.
  std::vector<SeqShape> seqs;
  for (int64_t s = 0; s < 16; ++s) seqs.push_back({100 + (s * 37) % 300, 1});
  const int saved_threads = omp_get_max_threads();
  for (DType dtype : {DType::kF32, DType::kBF16}) {
    const Config c{16, 8, 2, 64, 0, dtype};
    SCOPED_TRACE(c.Name());
    const PagedBatch b = MakeBatch(seqs, c, 99);
    omp_set_num_threads(1);
    const std::vector<float> one = RunPaged(fn_, b);
    omp_set_num_threads(2);
    ASSERT_EQ(omp_get_max_threads(), 2);
    const std::vector<float> two = RunPaged(fn_, b);
    EXPECT_EQ(std::memcmp(one.data(), two.data(), one.size() * sizeof(float)), 0);
    ExpectWithin(two, RunPaged(ref::PagedAttention, b), FastTol(b), "PagedAttention 2 threads");
  }
  omp_set_num_threads(saved_threads);
}

}  // namespace
}  // namespace loom::kernels
