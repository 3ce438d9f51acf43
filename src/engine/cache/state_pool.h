// One recurrent-state slot per running sequence (HasInnerState models). Slots are recycled on
// finish/abort; the pool is sized by max_num_seqs.
#pragma once

#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

namespace loom {

class StatePool {
 public:
  explicit StatePool(int num_slots) {
    for (int i = num_slots - 1; i >= 0; --i) free_.push_back(i);
  }
  int NumFree() const { return static_cast<int>(free_.size()); }
  // The slot of `id`, allocating one on first use; nullopt when none is free.
  std::optional<int> Acquire(const std::string& id) {
    if (auto it = owner_.find(id); it != owner_.end()) return it->second;
    if (free_.empty()) return std::nullopt;
    const int slot = free_.back();
    free_.pop_back();
    owner_[id] = slot;
    return slot;
  }
  void Release(const std::string& id) {
    auto it = owner_.find(id);
    if (it == owner_.end()) return;
    free_.push_back(it->second);
    owner_.erase(it);
  }

 private:
  std::vector<int> free_;
  std::unordered_map<std::string, int> owner_;
};

}  // namespace loom
