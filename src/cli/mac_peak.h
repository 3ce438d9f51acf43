// The multiply-add rate of the instruction a matmul kernel is built on, measured on this machine,
// so `loom bench matmul` can say what share of it a kernel reaches (as `loom bench latency` does
// for the read bandwidth).
#pragma once

#include <optional>
#include <string_view>

#include "core/dtype.h"

namespace loom::cli {

struct MacPeak {
  std::string_view instruction;  // e.g. "vpdpbusd"
  double gmacs;                  // G multiply-adds per second, all threads together
};

// The peak of the instruction MatMul's kernel for weights in `layout` multiplies with, under
// Activations::kLikeWeights on Isa::kAvx512Bf16 (vpdpbusd for Q8_0 / Q4_0 / Q6_K interleaved,
// vdpbf16ps for bf16), measured now; nullopt for other paths.
std::optional<MacPeak> MeasureMacPeak(DType layout);

}  // namespace loom::cli
