// Per-thread activation buffers for a model's forward step (core/thread_buffer.h), so the step
// loop does not allocate: before, a 512-token prefill of the 1B model faulted in ~0.5 GB of fresh
// pages (137k page faults) for its per-layer vectors. The buffers stay at their high-water mark
// (as vLLM's CPU workspace does) until the thread exits.
#pragma once

#include <cstdint>

#include "core/thread_buffer.h"

namespace loom {

// One slot per buffer that is live at the same time as another (a layer holds kNormed and kDelta
// while its attention holds kQ .. kAttn or its MLP kGate and kUp; a GPTQ act-order Linear reads
// its input, any of those, through kGathered).
enum class StepBuffer { kNormed, kDelta, kQ, kK, kV, kAttn, kGate, kUp, kGathered, kCount };

// At least `floats` f32, 64-byte aligned, owned by the calling thread; contents unspecified.
// Valid until the same thread asks for the same slot again.
inline float* StepBufferOf(StepBuffer slot, int64_t floats) {
  return static_cast<float*>(ThreadBuffer(slot, static_cast<size_t>(floats) * sizeof(float)));
}

}  // namespace loom
