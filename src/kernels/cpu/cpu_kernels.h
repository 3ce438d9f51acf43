// Per-ISA fast paths of the kernels in kernels/kernels.h, same contracts. Call only when
// IsaSupported() says the CPU can run them (kernels.cc dispatches; tests call them directly).
//
// Each body is written once as a template over a small vector layer (vec_avx512.h, vec_avx2.h)
// in cpu/<concern>_impl.h and compiled per ISA in cpu/<concern>_<isa>.cc with that ISA's flags.
#pragma once

#include <cstdint>
#include <span>

#include "core/dtype.h"
#include "kernels/kernels.h"

namespace loom::kernels::avx512 {

#include "kernels/kernel_signatures.inc"  // NOLINT(bugprone-suspicious-include)

// MatMul's block-quantized w_dtype path (cpu/quant_matmul_impl.h); MatMul forwards to it.
void QuantMatMul(const float* x, const void* w, DType w_dtype, const float* bias, float* y,
                 int64_t m, int64_t n, int64_t k);

}  // namespace loom::kernels::avx512

// Isa::kAvx512Bf16 (AVX-512 plus BF16 and VNNI): only MatMul with Activations::kLikeWeights
// differs from avx512 (kernels.h); dtypes without a rounded path forward to avx512::MatMul.
namespace loom::kernels::avx512bf16 {

void MatMul(const float* x, const void* w, DType w_dtype, const float* bias, float* y, int64_t m,
            int64_t n, int64_t k);
void MatMuls(const float* x, std::span<const MatMulOut> outs, int64_t m, int64_t k);

// Row-major Q8_0 / Q4_0 / Q6_K (cpu/q8_matmul_avx512bf16.cc).
bool Q8MatMulHandles(DType w_dtype);
void Q8MatMul(const float* x, const void* w, DType w_dtype, const float* bias, float* y, int64_t m,
              int64_t n, int64_t k);
// Interleaved weights, every out in the same layout: kQ4_0x16 and kQ8_0x16
// (cpu/q8_matmul_avx512bf16.cc), kQ6_Kx16 (cpu/q6k_matmul_avx512bf16.cc), kBF16x16
// (cpu/bf16x16_matmul_avx512bf16.cc).
void Q8InterleavedMatMuls(const float* x, std::span<const MatMulOut> outs, int64_t m, int64_t k);
void Q6KMatMuls(const float* x, std::span<const MatMulOut> outs, int64_t m, int64_t k);
void Bf16x16MatMuls(const float* x, std::span<const MatMulOut> outs, int64_t m, int64_t k);

}  // namespace loom::kernels::avx512bf16

namespace loom::kernels::avx2 {

#include "kernels/kernel_signatures.inc"  // NOLINT(bugprone-suspicious-include)

// MatMul's block-quantized w_dtype path (cpu/quant_matmul_impl.h); MatMul forwards to it.
void QuantMatMul(const float* x, const void* w, DType w_dtype, const float* bias, float* y,
                 int64_t m, int64_t n, int64_t k);

}  // namespace loom::kernels::avx2
