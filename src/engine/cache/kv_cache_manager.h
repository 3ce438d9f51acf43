// Per-request block tables over the BlockPool, with prefix-cache lookup. Planning (how many
// blocks a step needs) is separate from mutation (Allocate), so the scheduler can ask first.
#pragma once

#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "engine/cache/block_pool.h"

namespace loom {

class KvCacheManager {
 public:
  KvCacheManager(int num_blocks, int block_size, bool enable_prefix_caching);

  int block_size() const { return block_size_; }
  int NumFreeBlocks() const { return pool_.NumFree(); }
  int num_blocks() const { return pool_.num_blocks(); }
  bool prefix_caching() const { return caching_; }

  // The longest cached prefix of `tokens`, in whole blocks, leaving at least one token to compute
  // (the step must produce logits). Takes no references and counts nothing.
  struct CachedPrefix {
    std::vector<int> blocks;
    int num_tokens = 0;
  };
  CachedPrefix FindCachedPrefix(std::span<const int32_t> tokens, std::span<const uint64_t> extra_keys);

  // Makes `id` hold blocks for `total_tokens` tokens. On a request's first call, `prefix` (from
  // FindCachedPrefix) becomes the head of its block table. Returns false and changes nothing when
  // the pool lacks free blocks.
  bool Allocate(const std::string& id, int total_tokens, const CachedPrefix* prefix = nullptr);
  // Registers the request's blocks that are full of computed tokens in the prefix cache.
  void CacheFullBlocks(const std::string& id, std::span<const int32_t> tokens, int num_computed_tokens,
                       std::span<const uint64_t> extra_keys);
  // Releases all blocks of `id` (tail first, so its tail is evicted first).
  void Free(const std::string& id);

  const std::vector<int>& BlockTable(const std::string& id) const;
  int BlocksNeeded(int tokens) const { return (tokens + block_size_ - 1) / block_size_; }

  // Prefix-cache statistics in tokens, counted by the caller once per admitted request.
  void RecordPrefixQuery(int query_tokens, int hit_tokens) {
    query_tokens_ += query_tokens;
    hit_tokens_ += hit_tokens;
  }
  int64_t query_tokens() const { return query_tokens_; }
  int64_t hit_tokens() const { return hit_tokens_; }

 private:
  struct Entry {
    std::vector<int> blocks;
    std::vector<BlockHash> hashes;  // of the leading full blocks already registered
  };

  int block_size_;
  bool caching_;
  BlockPool pool_;
  std::unordered_map<std::string, Entry> requests_;
  int64_t query_tokens_ = 0;
  int64_t hit_tokens_ = 0;
};

}  // namespace loom
