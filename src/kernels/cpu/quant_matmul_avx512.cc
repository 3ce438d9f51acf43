// MatMul with block-quantized weights for avx512; the body is in quant_matmul_impl.h.
#define LOOM_ISA avx512
#include "kernels/cpu/vec_avx512.h"
// (vec header first: the impl template is written against it)
#include "kernels/cpu/quant_matmul_impl.h"
