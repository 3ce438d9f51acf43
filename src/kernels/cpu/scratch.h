// Per-thread scratch memory for kernels: grows to the largest request and is then reused, so the
// decode loop does not call the allocator once per matmul. Each slot is a separate buffer (a
// kernel that needs two at once takes slots 0 and 1). The buffers live until the thread exits.
// Users: slot 0 holds a matmul's rounded or quantized x (calling thread) or the f32 path's widened
// weights (each worker); slot 1 the Q8_0 / Q4_0 transposed panels (each worker). No kernel calls
// another while holding a slot that the callee takes.
#pragma once

#include <cstddef>
#include <cstdlib>
#include <memory>

namespace loom::kernels {

// At least `bytes` bytes, 64-byte aligned, owned by the calling thread; contents unspecified.
// Valid until the same thread asks for the same slot again.
inline void* ThreadScratch(int slot, size_t bytes) {
  struct Buffer {
    std::unique_ptr<void, decltype(&std::free)> p{nullptr, &std::free};
    size_t size = 0;
  };
  constexpr int kSlots = 2;
  thread_local Buffer buffers[kSlots];
  Buffer& b = buffers[slot];
  if (b.size < bytes) {
    const size_t size = (bytes + 63) / 64 * 64;
    b.p.reset(std::aligned_alloc(64, size));
    b.size = size;
  }
  return b.p.get();
}

}  // namespace loom::kernels
