// Attention for avx2; the body is in attention_impl.h.
#define LOOM_ISA avx2
#include "kernels/cpu/vec_avx2.h"
// (vec header first: the impl templates are written against it)
#include "kernels/cpu/attention_impl.h"
