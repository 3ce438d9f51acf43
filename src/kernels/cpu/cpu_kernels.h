// Per-ISA fast paths of the kernels in kernels/kernels.h, same contracts. Call only when
// IsaSupported() says the CPU can run them (kernels.cc dispatches; tests call them directly).
//
// Each body is written once as a template over a small vector layer (vec_avx512.h, vec_avx2.h)
// in cpu/<concern>_impl.h and compiled per ISA in cpu/<concern>_<isa>.cc with that ISA's flags.
#pragma once

#include <cstdint>

#include "core/dtype.h"

namespace loom::kernels::avx512 {

#include "kernels/kernel_signatures.inc"  // NOLINT(bugprone-suspicious-include)

// MatMul's block-quantized w_dtype path (cpu/quant_matmul_impl.h); MatMul forwards to it.
void QuantMatMul(const float* x, const void* w, DType w_dtype, const float* bias, float* y,
                 int64_t m, int64_t n, int64_t k);

}  // namespace loom::kernels::avx512

namespace loom::kernels::avx2 {

#include "kernels/kernel_signatures.inc"  // NOLINT(bugprone-suspicious-include)

// MatMul's block-quantized w_dtype path (cpu/quant_matmul_impl.h); MatMul forwards to it.
void QuantMatMul(const float* x, const void* w, DType w_dtype, const float* bias, float* y,
                 int64_t m, int64_t n, int64_t k);

}  // namespace loom::kernels::avx2
