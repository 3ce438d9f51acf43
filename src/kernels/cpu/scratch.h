// The kernels' per-thread scratch (core/thread_buffer.h), so the decode loop does not call the
// allocator once per matmul: a matmul's rounded or quantized x (calling thread) or the f32 path's
// widened weights (each worker). No kernel calls another that takes it while holding it.
#pragma once

#include <cstddef>

#include "core/thread_buffer.h"

namespace loom::kernels {

enum class KernelScratch { kX, kCount };

// At least `bytes` bytes, 64-byte aligned, owned by the calling thread; contents unspecified.
// Valid until the same thread asks again.
inline void* ThreadScratch(size_t bytes) { return ThreadBuffer(KernelScratch::kX, bytes); }

}  // namespace loom::kernels
