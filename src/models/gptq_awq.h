// GPTQ and AWQ checkpoints (config.json quantization_config, loader/hf_config.h), repacked at
// load into ggml block types that hold the very same values, so the quantized MatMul kernels run
// them exactly and nothing is widened to floats.
//
// Stored formats (little-endian int32 words, `pf` = 32 / bits values per word, low bits first):
//  - GPTQ (AutoGPTQ / GPTQModel; vLLM gptq.py): qweight i32 [in / pf, out] packed along the input
//    dim; qzeros i32 [groups, out / pf] packed along the output dim; scales f16 [groups, out];
//    g_idx i32 [in], the group of each input column (act-order, desc_act) or column / group_size.
//    checkpoint_format "gptq" (v1) stores zero - 1, "gptq_v2" the zero.
//  - AWQ GEMM (AutoAWQ; vLLM awq.py): qweight i32 [in, out / 8] and qzeros i32 [groups, out / 8]
//    packed along the output dim, output column 8 w + k in nibble kAwqReverseOrder[k] of word w
//    (AutoAWQ packs in order {0, 2, 4, 6, 1, 3, 5, 7}); scales f16 [groups, out]; group = in /
//    group_size.
// Both mean w[out][in] = scale[g][out] * (q[in][out] - zero[g][out]).
//
// Targets. Per 32 input columns ggml's Q4_0 stores an f16 d and 4-bit u (w = d (u - 8)), Q5_0 an
// f16 d and 5-bit u (w = d (u - 16)), Q8_0 an f16 d and int8 q (w = d q). With d = the group's
// f16 scale all three are exact when every 32-column block lies in one group, and the smallest
// that holds every q - zero is chosen: Q4_0 for [-8, 7] (symmetric 4-bit: zero 8), Q5_0 for
// [-16, 15] (any 4-bit zero: asymmetric GPTQ, AWQ), Q8_0 for [-128, 127] (8-bit; symmetric: zero
// 128); anything else is an error.
// Act-order groups are scattered over the input columns: the columns are stably sorted by group
// (vLLM's exllama shuffle does the same) and the permutation is kept, so x is gathered into that
// order before the MatMul (layers/linear.h).
#pragma once

#include <map>
#include <string>
#include <vector>

#include "loader/hf_config.h"
#include "loader/safetensors.h"
#include "models/weights.h"

namespace loom {

// Output column 8 w + k of an AWQ word lives in nibble kAwqReverseOrder[k].
inline constexpr int kAwqReverseOrder[8] = {0, 4, 1, 5, 2, 6, 3, 7};

// True if module `prefix` is stored packed (has `prefix`.qweight).
bool IsPackedLinear(const WeightStore& store, const std::string& prefix);

// Module `prefix` of logical shape [out, in], repacked exactly into Q4_0, Q5_0 or Q8_0 (above).
// Errors name the file and tensor: missing tensors, wrong dtypes or shapes, out-of-range g_idx,
// groups that split a 32-column block, values or scales no block type holds exactly.
Result<LinearWeight> LoadPackedLinear(const WeightStore& store, const std::string& prefix,
                                      int64_t out, int64_t in, const CheckpointQuantization& q);

// vLLM's rule for fused modules (SupportsQuant::QuantPackedMapping, e.g. qkv_proj -> q_proj,
// k_proj, v_proj): the members of one fused module are all quantized or all not. A checkpoint
// whose modules_to_not_convert / dynamic rules split a fused module fails here, naming the layer
// and the members on each side.
Status CheckFusedQuantization(const WeightStore& store,
                              const std::map<std::string, std::vector<std::string>>& packed_mapping,
                              const std::string& method);

}  // namespace loom
