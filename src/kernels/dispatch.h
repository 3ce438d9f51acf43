// Run-time choice of the kernel instruction set. Shipped binaries are built for baseline x86-64;
// only kernels/cpu/*_avx2.cc and *_avx512.cc are compiled with ISA flags, and they run only when
// the CPU supports them.
#pragma once

#include <string_view>

namespace loom::kernels {

enum class Isa { kScalar, kAvx2, kAvx512 };

// Best ISA this CPU supports. kAvx512 needs AVX-512 F+BW+VL+DQ (plus FMA, F16C); kAvx2 needs
// AVX2+FMA+F16C. AVX-512 BF16 is not required: bf16 weights are widened with shifts.
Isa DetectIsa();

// ISA the public kernels use: DetectIsa(), unless env LOOM_ISA=scalar|avx2|avx512 asks for
// another one (for testing). A value this CPU cannot run falls back to DetectIsa() with a
// warning. Resolved once per process.
Isa ActiveIsa();

// True if this CPU can execute kernels built for `isa`.
bool IsaSupported(Isa isa);

std::string_view IsaName(Isa isa);  // "scalar", "avx2", "avx512"

}  // namespace loom::kernels
