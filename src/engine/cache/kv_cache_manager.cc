#include "engine/cache/kv_cache_manager.h"

#include <algorithm>

namespace loom {

KvCacheManager::KvCacheManager(int num_blocks, int block_size, bool enable_prefix_caching)
    : block_size_(block_size), caching_(enable_prefix_caching), pool_(num_blocks, enable_prefix_caching) {}

KvCacheManager::CachedPrefix KvCacheManager::FindCachedPrefix(std::span<const int32_t> tokens,
                                                              std::span<const uint64_t> extra_keys) {
  CachedPrefix out;
  if (!caching_ || tokens.empty()) return out;
  // At most (len - 1) tokens can come from the cache: the last one must run to give logits.
  const int max_blocks = (static_cast<int>(tokens.size()) - 1) / block_size_;
  BlockHash parent;
  for (int b = 0; b < max_blocks; ++b) {
    parent = HashBlock(parent, tokens.subspan(b * block_size_, block_size_), extra_keys);
    std::optional<int> hit = pool_.Lookup(parent);
    if (!hit) break;
    out.blocks.push_back(*hit);
  }
  out.num_tokens = static_cast<int>(out.blocks.size()) * block_size_;
  return out;
}

bool KvCacheManager::Allocate(const std::string& id, int total_tokens, const CachedPrefix* prefix) {
  auto [it, inserted] = requests_.try_emplace(id);
  Entry& e = it->second;
  const bool take_prefix = inserted && prefix != nullptr && !prefix->blocks.empty();
  if (take_prefix) {
    // Cached blocks with no other user sit in the free list: claiming them reduces what is free.
    int reclaimed = 0;
    for (int b : prefix->blocks) reclaimed += pool_.RefCount(b) == 0 ? 1 : 0;
    const int need = BlocksNeeded(total_tokens) - static_cast<int>(prefix->blocks.size());
    if (need + reclaimed > pool_.NumFree()) {
      requests_.erase(it);
      return false;
    }
    pool_.Touch(prefix->blocks);
    e.blocks = prefix->blocks;
  }
  const int need = BlocksNeeded(total_tokens) - static_cast<int>(e.blocks.size());
  if (need > 0) {
    std::optional<std::vector<int>> fresh = pool_.Allocate(need);
    if (!fresh) {
      if (take_prefix) pool_.Free(e.blocks);
      if (inserted) requests_.erase(it);
      return false;
    }
    e.blocks.insert(e.blocks.end(), fresh->begin(), fresh->end());
  }
  return true;
}

void KvCacheManager::CacheFullBlocks(const std::string& id, std::span<const int32_t> tokens,
                                     int num_computed_tokens, std::span<const uint64_t> extra_keys) {
  if (!caching_) return;
  Entry& e = requests_.at(id);
  const int full = std::min(num_computed_tokens / block_size_, static_cast<int>(e.blocks.size()));
  BlockHash parent = e.hashes.empty() ? BlockHash{} : e.hashes.back();
  for (int b = static_cast<int>(e.hashes.size()); b < full; ++b) {
    parent = HashBlock(parent, tokens.subspan(b * block_size_, block_size_), extra_keys);
    e.hashes.push_back(parent);
    pool_.Cache(e.blocks[b], parent);
  }
}

void KvCacheManager::Free(const std::string& id) {
  auto it = requests_.find(id);
  if (it == requests_.end()) return;
  std::vector<int> reversed(it->second.blocks.rbegin(), it->second.blocks.rend());
  pool_.Free(reversed);
  requests_.erase(it);
}

const std::vector<int>& KvCacheManager::BlockTable(const std::string& id) const {
  static const std::vector<int> kEmpty;
  auto it = requests_.find(id);
  return it == requests_.end() ? kEmpty : it->second.blocks;
}

}  // namespace loom
