// Per-thread memory that grows to the largest request it has served and is then reused, so hot
// loops (each matmul, each forward step) do not call the allocator. `Slots` is an enum ending in
// kCount; each slot is a separate buffer, alive until the thread exits.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdlib>
#include <memory>

namespace loom {

// At least `bytes` bytes, 64-byte aligned, owned by the calling thread; contents unspecified.
// Valid until the same thread asks for the same slot again.
template <class Slots>
void* ThreadBuffer(Slots slot, size_t bytes) {
  struct Buffer {
    std::unique_ptr<void, decltype(&std::free)> p{nullptr, &std::free};
    size_t size = 0;
  };
  thread_local Buffer buffers[static_cast<int>(Slots::kCount)];
  Buffer& b = buffers[static_cast<int>(slot)];
  if (!b.p || b.size < bytes) {
    const size_t size = (std::max<size_t>(bytes, 1) + 63) / 64 * 64;
    b.p.reset(std::aligned_alloc(64, size));
    b.size = size;
  }
  return b.p.get();
}

}  // namespace loom
