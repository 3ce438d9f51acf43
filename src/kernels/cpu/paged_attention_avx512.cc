// PagedAttention for avx512; the body is in paged_attention_impl.h.
#define LOOM_ISA avx512
#include "kernels/cpu/vec_avx512.h"
// (vec header first: the impl templates are written against it)
#include "kernels/cpu/paged_attention_impl.h"
