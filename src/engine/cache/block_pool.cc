#include "engine/cache/block_pool.h"

#include <xxhash.h>

#include <cassert>

namespace loom {

BlockHash HashBlock(const BlockHash& parent, std::span<const int32_t> tokens,
                    std::span<const uint64_t> extra_keys) {
  XXH3_state_t* state = XXH3_createState();
  XXH3_128bits_reset(state);
  XXH3_128bits_update(state, &parent, sizeof(parent));
  XXH3_128bits_update(state, tokens.data(), tokens.size_bytes());
  XXH3_128bits_update(state, extra_keys.data(), extra_keys.size_bytes());
  const XXH128_hash_t h = XXH3_128bits_digest(state);
  XXH3_freeState(state);
  return {h.low64, h.high64};
}

BlockPool::BlockPool(int num_blocks, bool enable_caching) : caching_(enable_caching), blocks_(num_blocks) {
  for (int i = 0; i < num_blocks; ++i) blocks_[i].free_pos = free_.insert(free_.end(), i);
}

void BlockPool::Evict(int block) {
  Block& b = blocks_[block];
  if (!b.hash) return;
  auto it = cached_.find(*b.hash);
  if (it != cached_.end() && it->second == block) cached_.erase(it);
  b.hash.reset();
}

std::optional<std::vector<int>> BlockPool::Allocate(int n) {
  if (n > NumFree()) return std::nullopt;
  std::vector<int> out;
  out.reserve(n);
  for (int i = 0; i < n; ++i) {
    const int id = free_.front();
    free_.pop_front();
    Evict(id);
    blocks_[id].ref = 1;
    out.push_back(id);
  }
  return out;
}

std::optional<int> BlockPool::Lookup(const BlockHash& hash) const {
  if (!caching_) return std::nullopt;
  auto it = cached_.find(hash);
  if (it == cached_.end()) return std::nullopt;
  return it->second;
}

void BlockPool::Touch(std::span<const int> blocks) {
  for (int id : blocks) {
    Block& b = blocks_[id];
    if (b.ref++ == 0) free_.erase(b.free_pos);
  }
}

void BlockPool::Free(std::span<const int> blocks) {
  for (int id : blocks) {
    Block& b = blocks_[id];
    assert(b.ref > 0);
    if (--b.ref == 0) {
      if (!b.hash) {
        // Nothing to reuse: hand it out before any cached block.
        b.free_pos = free_.insert(free_.begin(), id);
      } else {
        b.free_pos = free_.insert(free_.end(), id);
      }
    }
  }
}

void BlockPool::Cache(int block, const BlockHash& hash) {
  if (!caching_ || blocks_[block].hash || cached_.count(hash)) return;
  blocks_[block].hash = hash;
  cached_.emplace(hash, block);
}

void BlockPool::ResetCache() {
  for (size_t i = 0; i < blocks_.size(); ++i) Evict(static_cast<int>(i));
}

}  // namespace loom
