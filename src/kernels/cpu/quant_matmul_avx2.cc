// MatMul with block-quantized weights for avx2; the body is in quant_matmul_impl.h.
#define LOOM_ISA avx2
#include "kernels/cpu/vec_avx2.h"
// (vec header first: the impl template is written against it)
#include "kernels/cpu/quant_matmul_impl.h"
