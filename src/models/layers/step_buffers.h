// Per-thread activation buffers for a model's forward step: each grows to the largest step it has
// served and is then reused, so the step loop does not allocate. Before, a 512-token prefill of
// the 1B model faulted in ~0.5 GB of fresh pages (137k page faults) for its per-layer vectors.
// The buffers stay at their high-water mark (as vLLM's CPU workspace does) until the thread exits.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>

namespace loom {

// One slot per buffer that is live at the same time as another (a layer holds kNormed and kDelta
// while its attention holds kQ .. kAttn or its MLP kGate and kUp).
enum class StepBuffer { kNormed, kDelta, kQ, kK, kV, kAttn, kGate, kUp, kCount };

// At least `floats` f32, 64-byte aligned, owned by the calling thread; contents unspecified.
// Valid until the same thread asks for the same slot again.
inline float* StepBufferOf(StepBuffer slot, int64_t floats) {
  struct Buffer {
    std::unique_ptr<float, decltype(&std::free)> p{nullptr, &std::free};
    size_t size = 0;  // floats
  };
  thread_local Buffer buffers[static_cast<int>(StepBuffer::kCount)];
  Buffer& b = buffers[static_cast<int>(slot)];
  const size_t want = static_cast<size_t>(floats < 1 ? 1 : floats);
  if (b.size < want) {
    const size_t size = (want + 15) / 16 * 16;  // whole 64-byte lines
    b.p.reset(static_cast<float*>(std::aligned_alloc(64, size * sizeof(float))));
    b.size = size;
  }
  return b.p.get();
}

}  // namespace loom
