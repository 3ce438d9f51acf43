// Run-time choice of the kernel instruction set. Shipped binaries are built for baseline x86-64;
// only kernels/cpu/*_avx2.cc and *_avx512.cc are compiled with ISA flags, and they run only when
// the CPU supports them.
#pragma once

#include <string_view>

namespace loom::kernels {

enum class Isa { kScalar, kAvx2, kAvx512, kAvx512Bf16 };

// Best ISA this CPU supports. kAvx512 needs AVX-512 F+BW+VL+DQ (plus FMA, F16C); kAvx2 needs
// AVX2+FMA+F16C. kAvx512Bf16 is kAvx512 plus AVX-512 BF16 and VNNI (Cooper Lake, Sapphire Rapids,
// Zen 4 and later): MatMul with Activations::kLikeWeights gets its faster paths (kernels.h).
Isa DetectIsa();

// ISA the public kernels use: DetectIsa(), unless env LOOM_ISA=scalar|avx2|avx512|avx512bf16 asks
// for another one (for testing). A value this CPU cannot run falls back to DetectIsa() with a
// warning. Resolved once per process.
Isa ActiveIsa();

// True if this CPU can execute kernels built for `isa`.
bool IsaSupported(Isa isa);

std::string_view IsaName(Isa isa);  // "scalar", "avx2", "avx512", "avx512bf16"

}  // namespace loom::kernels
