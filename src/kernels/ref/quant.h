// Scalar reference for ggml's block-quantized formats (Q4_0 ... Q6_K; layouts in core/dtype.h).
// Dequantization is bit-exact with ggml's dequantize_row_* (and gguf-py's dequantize): the same
// f32 operations in the same order, f16 scales widened exactly. The quantizers reproduce ggml's
// reference quantizers (quantize_row_q8_0_ref, _q4_0_ref, _q4_K_ref), which llama-quantize uses
// when no importance matrix is given, so Loom's online quantization writes llama.cpp's bytes.
#pragma once

#include <cstdint>

#include "core/dtype.h"

namespace loom::kernels::ref {

// dst f32 [n] <- src, n elements in `t` (any dtype; n a multiple of DTypeBlockElems(t)).
void Dequantize(const void* src, DType t, float* dst, int64_t n);

// True for the types Quantize can write: Q8_0, Q4_0, Q4_K.
bool CanQuantize(DType t);

// dst (RowBytes(t, n) bytes) <- src f32 [n]; n a multiple of DTypeBlockElems(t). Aborts for a
// type CanQuantize rejects (callers validate first).
void Quantize(const float* src, DType t, void* dst, int64_t n);

}  // namespace loom::kernels::ref
