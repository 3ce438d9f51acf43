#include "kernels/dispatch.h"

#include <cstdlib>
#include <string>

#include "core/logging.h"

namespace loom::kernels {

bool IsaSupported(Isa isa) {
  switch (isa) {
    case Isa::kScalar:
      return true;
    case Isa::kAvx2:
      return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") &&
             __builtin_cpu_supports("f16c");
    case Isa::kAvx512:
      return IsaSupported(Isa::kAvx2) && __builtin_cpu_supports("avx512f") &&
             __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl") &&
             __builtin_cpu_supports("avx512dq");
    case Isa::kAvx512Bf16:
      return IsaSupported(Isa::kAvx512) && __builtin_cpu_supports("avx512bf16") &&
             __builtin_cpu_supports("avx512vnni");
  }
  return false;
}

Isa DetectIsa() {
  if (IsaSupported(Isa::kAvx512Bf16)) return Isa::kAvx512Bf16;
  if (IsaSupported(Isa::kAvx512)) return Isa::kAvx512;
  if (IsaSupported(Isa::kAvx2)) return Isa::kAvx2;
  return Isa::kScalar;
}

Isa ActiveIsa() {
  static const Isa isa = [] {
    const Isa detected = DetectIsa();
    const char* env = std::getenv("LOOM_ISA");
    if (env == nullptr || *env == '\0') return detected;
    const std::string want = env;
    Isa requested;
    if (want == "scalar") {
      requested = Isa::kScalar;
    } else if (want == "avx2") {
      requested = Isa::kAvx2;
    } else if (want == "avx512") {
      requested = Isa::kAvx512;
    } else if (want == "avx512bf16") {
      requested = Isa::kAvx512Bf16;
    } else {
      LOOM_LOG_WARN("LOOM_ISA={} is not one of scalar, avx2, avx512, avx512bf16; using {}", want,
                    IsaName(detected));
      return detected;
    }
    if (!IsaSupported(requested)) {
      LOOM_LOG_WARN("LOOM_ISA={} is not supported by this CPU; using {}", want, IsaName(detected));
      return detected;
    }
    return requested;
  }();
  return isa;
}

std::string_view IsaName(Isa isa) {
  switch (isa) {
    case Isa::kScalar:
      return "scalar";
    case Isa::kAvx2:
      return "avx2";
    case Isa::kAvx512:
      return "avx512";
    case Isa::kAvx512Bf16:
      return "avx512bf16";
  }
  return "?";
}

}  // namespace loom::kernels
