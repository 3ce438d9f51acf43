// MatMul for avx512; the body is in matmul_impl.h.
#define LOOM_ISA avx512
#include "kernels/cpu/vec_avx512.h"
// (vec header first: the impl template is written against it)
#include "kernels/cpu/matmul_impl.h"
