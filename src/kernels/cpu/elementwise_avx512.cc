// Norms, activations, softmax and rope for avx512; the bodies are in elementwise_impl.h.
#define LOOM_ISA avx512
#include "kernels/cpu/vec_avx512.h"
// (vec header first: the impl templates are written against it)
#include "kernels/cpu/elementwise_impl.h"
