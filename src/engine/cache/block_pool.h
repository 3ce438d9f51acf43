// The paged KV block pool: fixed-size token blocks with reference counts, and prefix caching:
// a full block is registered under the chained hash of all tokens up to and including it, and
// when freed it stays in the pool (in LRU order) until its space is needed.
#pragma once

#include <cstdint>
#include <list>
#include <optional>
#include <span>
#include <unordered_map>
#include <vector>

namespace loom {

// 128-bit chained hash of a block's tokens, its parent block's hash and extra keys (LoRA id,
// multimodal content hashes) so that equal hashes mean equal prefixes.
struct BlockHash {
  uint64_t lo = 0, hi = 0;
  bool operator==(const BlockHash&) const = default;
};
struct BlockHashHasher {
  size_t operator()(const BlockHash& h) const { return h.lo ^ (h.hi * 0x9e3779b97f4a7c15ull); }
};

BlockHash HashBlock(const BlockHash& parent, std::span<const int32_t> tokens,
                    std::span<const uint64_t> extra_keys = {});

class BlockPool {
 public:
  BlockPool(int num_blocks, bool enable_caching);

  int num_blocks() const { return static_cast<int>(blocks_.size()); }
  // Blocks that can be handed out now (unreferenced, cached or not).
  int NumFree() const { return static_cast<int>(free_.size()); }
  int RefCount(int block) const { return blocks_[block].ref; }

  // n blocks with ref 1, taken least-recently-freed first (evicting their cached hashes), or
  // nullopt (and nothing changed) when fewer than n are free.
  std::optional<std::vector<int>> Allocate(int n);
  // The cached block holding this prefix hash, if any (does not take a reference).
  std::optional<int> Lookup(const BlockHash& hash) const;
  // Takes a reference on blocks found by Lookup (removing them from the free list if unused).
  void Touch(std::span<const int> blocks);
  // Drops one reference each; blocks reaching 0 go to the free list's tail in the given order,
  // so callers pass a request's blocks last-first to have its tail evicted first (as vLLM).
  void Free(std::span<const int> blocks);
  // Registers a full block under `hash` (no-op without caching or if the hash is already cached).
  void Cache(int block, const BlockHash& hash);
  // Drops every cached hash (e.g. after a weight or LoRA reload).
  void ResetCache();

 private:
  struct Block {
    int ref = 0;
    std::optional<BlockHash> hash;
    std::list<int>::iterator free_pos;  // valid while ref == 0
  };
  void Evict(int block);

  bool caching_;
  std::vector<Block> blocks_;
  std::list<int> free_;  // LRU order: head is evicted first
  std::unordered_map<BlockHash, int, BlockHashHasher> cached_;
};

}  // namespace loom
