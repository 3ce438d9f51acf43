#include "models/gptq_awq.h"

#include <algorithm>
#include <cstring>
#include <numeric>

#include "core/logging.h"

namespace loom {
namespace {

constexpr int64_t kBlock = 32;  // Q4_0 / Q5_0 / Q8_0 block: input columns sharing one f16 scale

// `prefix`.`suffix` with dtype one of `dtypes` and exactly `shape`.
Result<Tensor> GetPart(const WeightStore& store, const std::string& prefix, const char* suffix,
                       std::initializer_list<DType> dtypes, const Shape& shape,
                       const std::string& why) {
  const std::string name = prefix + "." + suffix;
  if (!store.Contains(name)) {
    return NotFound("{}: missing tensor '{}' ({}; '{}.qweight' is present)", store.location(), name,
                    why, prefix);
  }
  LOOM_ASSIGN_OR_RETURN(Tensor t, store.Get(name));
  if (std::find(dtypes.begin(), dtypes.end(), t.dtype()) == dtypes.end()) {
    std::string want;
    for (DType d : dtypes) want += (want.empty() ? "" : " or ") + std::string(DTypeName(d));
    return InvalidArgument("{}: tensor '{}' is {}, expected {} ({})", store.FileOf(name), name,
                           DTypeName(t.dtype()), want, why);
  }
  if (t.shape() != shape) {
    return InvalidArgument("{}: tensor '{}' has shape {}, expected {} ({})", store.FileOf(name),
                           name, ShapeString(t.shape()), ShapeString(shape), why);
  }
  return t.Contiguous();
}

// scales [groups, out] as f16 bits. F16 is taken as is; BF16 / F32 scales must be exactly f16
// values, since Q4_0 / Q5_0 / Q8_0 keep an f16 d.
Result<std::vector<uint16_t>> ScalesF16(const WeightStore& store, const std::string& name,
                                        const Tensor& t) {
  std::vector<uint16_t> out(t.numel());
  if (t.dtype() == DType::kF16) {
    std::memcpy(out.data(), t.raw(), out.size() * 2);
    return out;
  }
  const Tensor f = t.ToF32();
  for (int64_t i = 0; i < t.numel(); ++i) {
    const float v = f.data<float>()[i];
    out[i] = F32ToF16(v);
    if (!(F16ToF32(out[i]) == v)) {
      return Unimplemented(
          "{}: tensor '{}' element {} ({}) is not an f16 value; Q4_0 / Q5_0 / Q8_0 scales are f16",
          store.FileOf(name), name, i, v);
    }
  }
  return out;
}

// The Q8_0 tensor `q8` as Q4_0 or Q5_0 (its int8 values fit: [-8, 7] or [-16, 15]); same d.
Tensor NarrowQ8_0(const Tensor& q8, DType target) {
  Tensor out = Tensor::Zeros(target, q8.shape());
  const auto* src = static_cast<const uint8_t*>(q8.raw());
  auto* dst = static_cast<uint8_t*>(out.raw());
  const int64_t n_blocks = q8.numel() / kBlock;
  const int64_t src_bytes = DTypeBlockBytes(DType::kQ8_0), dst_bytes = DTypeBlockBytes(target);
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < n_blocks; ++i) {
    const uint8_t* s = src + i * src_bytes;
    uint8_t* d = dst + i * dst_bytes;
    std::memcpy(d, s, 2);  // f16 d
    const auto* q = reinterpret_cast<const int8_t*>(s + 2);
    // ggml's block_q4_0 {d, qs[16]} and block_q5_0 {d, qh (u32), qs[16]}: element j < 16 in the
    // low nibble of qs[j], j + 16 in its high nibble; Q5_0's fifth bit of element j is bit j of qh.
    const int offset = target == DType::kQ4_0 ? 8 : 16;
    uint8_t* qs = d + (target == DType::kQ4_0 ? 2 : 6);
    uint32_t qh = 0;
    for (int j = 0; j < 16; ++j) {
      const uint32_t lo = static_cast<uint32_t>(q[j] + offset);
      const uint32_t hi = static_cast<uint32_t>(q[j + 16] + offset);
      qs[j] = static_cast<uint8_t>((lo & 0xF) | (hi & 0xF) << 4);
      qh |= (lo >> 4) << j | (hi >> 4) << (j + 16);
    }
    if (target == DType::kQ5_0) std::memcpy(d + 2, &qh, 4);
  }
  return out;
}

// The repacking shared by GPTQ and AWQ. `group_of` int32 [in]; `scales` f16 bits [groups, out];
// column(i, v) writes q - zero of input column i for every output row into v int32 [out].
template <class ColumnFn>
Result<LinearWeight> Repack(int64_t out, int64_t in, const std::vector<int32_t>& group_of,
                            const std::vector<uint16_t>& scales, const ColumnFn& column,
                            const std::string& what) {
  LinearWeight lw;
  // Weight column j holds input column perm[j]: the identity unless groups are scattered.
  std::vector<int32_t> perm(in);
  std::iota(perm.begin(), perm.end(), 0);
  if (!std::is_sorted(group_of.begin(), group_of.end())) {
    std::stable_sort(perm.begin(), perm.end(),
                     [&](int32_t a, int32_t b) { return group_of[a] < group_of[b]; });
    lw.input_perm = perm;
  }
  if (in % kBlock != 0) {
    return Unimplemented(
        "{}: {} input columns are not a multiple of {} (Q4_0 / Q5_0 / Q8_0 blocks)", what, in,
        kBlock);
  }
  const int64_t blocks = in / kBlock;
  for (int64_t b = 0; b < blocks; ++b) {
    const int32_t g = group_of[perm[b * kBlock]];
    for (int64_t t = 1; t < kBlock; ++t) {
      if (group_of[perm[b * kBlock + t]] != g) {
        return Unimplemented(
            "{}: input columns {} and {} (after sorting by group) share a 32-column block but "
            "belong to groups {} and {}; Q4_0 / Q5_0 / Q8_0 need each block of 32 in one group",
            what, perm[b * kBlock], perm[b * kBlock + t], g, group_of[perm[b * kBlock + t]]);
      }
    }
  }

  // Q8_0 first (any int8), then narrowed when every value fits 4 or 5 bits. d is the group's f16
  // scale.
  Tensor q8 = Tensor::Zeros(DType::kQ8_0, {out, in});
  const int64_t row_bytes = RowBytes(DType::kQ8_0, in);
  auto* base = static_cast<uint8_t*>(q8.raw());
  int64_t vmin = 0, vmax = 0;
#pragma omp parallel for schedule(static) reduction(min : vmin) reduction(max : vmax)
  for (int64_t b = 0; b < blocks; ++b) {
    std::vector<int32_t> tile(kBlock * out);  // int32 [32, out]: q - zero of this block's columns
    for (int64_t t = 0; t < kBlock; ++t) column(perm[b * kBlock + t], tile.data() + t * out);
    const int32_t g = group_of[perm[b * kBlock]];
    for (int64_t o = 0; o < out; ++o) {
      uint8_t* blk = base + o * row_bytes + b * DTypeBlockBytes(DType::kQ8_0);
      std::memcpy(blk, &scales[g * out + o], 2);
      for (int64_t t = 0; t < kBlock; ++t) {
        const int32_t v = tile[t * out + o];
        vmin = std::min<int64_t>(vmin, v);
        vmax = std::max<int64_t>(vmax, v);
        blk[2 + t] = static_cast<uint8_t>(static_cast<int8_t>(v));
      }
    }
  }
  if (vmin < -128 || vmax > 127) {
    return Unimplemented(
        "{}: q - zero spans [{}, {}], beyond int8's [-128, 127]; no block type holds it exactly",
        what, vmin, vmax);
  }
  const DType target = vmin >= -8 && vmax <= 7     ? DType::kQ4_0
                       : vmin >= -16 && vmax <= 15 ? DType::kQ5_0
                                                   : DType::kQ8_0;
  lw.weight = target == DType::kQ8_0 ? std::move(q8) : NarrowQ8_0(q8, target);
  return lw;
}

Result<LinearWeight> LoadGptq(const WeightStore& store, const std::string& prefix, int64_t out,
                              int64_t in, const CheckpointQuantization& q,
                              const std::string& what) {
  const int bits = q.bits;
  const int64_t pf = 32 / bits;
  const uint32_t mask = (1u << bits) - 1;
  if (in % pf != 0 || out % pf != 0) {
    return InvalidArgument("{}: in ({}) and out ({}) must be multiples of {} to pack {}-bit values",
                           what, in, out, pf, bits);
  }
  const int64_t groups = q.group_size == -1 ? 1 : (in + q.group_size - 1) / q.group_size;
  const std::string layout =
      fmt::format("gptq {}-bit, group_size {}, [in, out] = [{}, {}]", bits, q.group_size, in, out);
  LOOM_ASSIGN_OR_RETURN(Tensor qweight,
                        GetPart(store, prefix, "qweight", {DType::kI32}, {in / pf, out}, layout));
  LOOM_ASSIGN_OR_RETURN(
      Tensor qzeros, GetPart(store, prefix, "qzeros", {DType::kI32}, {groups, out / pf}, layout));
  LOOM_ASSIGN_OR_RETURN(Tensor scales_t,
                        GetPart(store, prefix, "scales", {DType::kF16, DType::kBF16, DType::kF32},
                                {groups, out}, layout));
  LOOM_ASSIGN_OR_RETURN(std::vector<uint16_t> scales,
                        ScalesF16(store, prefix + ".scales", scales_t));

  // As vLLM: g_idx decides the groups only with act-order; otherwise column / group_size.
  std::vector<int32_t> group_of(in);
  const bool use_g_idx = q.desc_act && q.group_size != -1;
  if (use_g_idx || store.Contains(prefix + ".g_idx")) {
    LOOM_ASSIGN_OR_RETURN(Tensor g_idx,
                          GetPart(store, prefix, "g_idx", {DType::kI32}, {in}, layout));
    if (use_g_idx) {
      const int32_t* g = g_idx.data<int32_t>();
      for (int64_t i = 0; i < in; ++i) {
        if (g[i] < 0 || g[i] >= groups) {
          return InvalidArgument("{}: tensor '{}.g_idx' element {} is {}, outside [0, {})",
                                 store.FileOf(prefix + ".g_idx"), prefix, i, g[i], groups);
        }
        group_of[i] = g[i];
      }
    }
  }
  if (!use_g_idx) {
    for (int64_t i = 0; i < in; ++i)
      group_of[i] = q.group_size == -1 ? 0 : static_cast<int32_t>(i / q.group_size);
  }

  // zeros int32 [groups, out], unpacked once.
  std::vector<int32_t> zeros(groups * out);
  const auto* zw = qzeros.data<uint32_t>();
  for (int64_t g = 0; g < groups; ++g) {
    for (int64_t o = 0; o < out; ++o) {
      const uint32_t z = (zw[g * (out / pf) + o / pf] >> (bits * (o % pf))) & mask;
      zeros[g * out + o] = static_cast<int32_t>(z) + (q.zeros_minus_one ? 1 : 0);
    }
  }
  const auto* qw = qweight.data<uint32_t>();
  const auto column = [&](int64_t i, int32_t* v) {
    const uint32_t* row = qw + (i / pf) * out;
    const int shift = static_cast<int>(bits * (i % pf));
    const int32_t* z = zeros.data() + group_of[i] * out;
    for (int64_t o = 0; o < out; ++o) v[o] = static_cast<int32_t>((row[o] >> shift) & mask) - z[o];
  };
  return Repack(out, in, group_of, scales, column, what);
}

Result<LinearWeight> LoadAwq(const WeightStore& store, const std::string& prefix, int64_t out,
                             int64_t in, const CheckpointQuantization& q, const std::string& what) {
  if (out % 8 != 0)
    return InvalidArgument("{}: out ({}) must be a multiple of 8 to pack 4-bit values", what, out);
  const int64_t groups = q.group_size == -1 ? 1 : (in + q.group_size - 1) / q.group_size;
  const std::string layout =
      fmt::format("awq 4-bit, group_size {}, [in, out] = [{}, {}]", q.group_size, in, out);
  LOOM_ASSIGN_OR_RETURN(Tensor qweight,
                        GetPart(store, prefix, "qweight", {DType::kI32}, {in, out / 8}, layout));
  LOOM_ASSIGN_OR_RETURN(Tensor qzeros,
                        GetPart(store, prefix, "qzeros", {DType::kI32}, {groups, out / 8}, layout));
  LOOM_ASSIGN_OR_RETURN(Tensor scales_t,
                        GetPart(store, prefix, "scales", {DType::kF16, DType::kBF16, DType::kF32},
                                {groups, out}, layout));
  LOOM_ASSIGN_OR_RETURN(std::vector<uint16_t> scales,
                        ScalesF16(store, prefix + ".scales", scales_t));
  std::vector<int32_t> group_of(in);
  for (int64_t i = 0; i < in; ++i)
    group_of[i] = q.group_size == -1 ? 0 : static_cast<int32_t>(i / q.group_size);

  // Nibble of output column o within its word.
  const auto unpack = [](const uint32_t* words, int64_t o) {
    return static_cast<int32_t>((words[o / 8] >> (4 * kAwqReverseOrder[o % 8])) & 0xF);
  };
  std::vector<int32_t> zeros(groups * out);  // int32 [groups, out]
  const auto* zw = qzeros.data<uint32_t>();
  for (int64_t g = 0; g < groups; ++g) {
    for (int64_t o = 0; o < out; ++o) zeros[g * out + o] = unpack(zw + g * (out / 8), o);
  }
  const auto* qw = qweight.data<uint32_t>();
  const auto column = [&](int64_t i, int32_t* v) {
    const uint32_t* row = qw + i * (out / 8);
    const int32_t* z = zeros.data() + group_of[i] * out;
    for (int64_t o = 0; o < out; ++o) v[o] = unpack(row, o) - z[o];
  };
  return Repack(out, in, group_of, scales, column, what);
}

std::string Join(const std::vector<std::string>& v) {
  std::string s;
  for (const std::string& e : v) s += (s.empty() ? "" : ", ") + e;
  return s;
}

}  // namespace

bool IsPackedLinear(const WeightStore& store, const std::string& prefix) {
  return store.Contains(prefix + ".qweight");
}

Result<LinearWeight> LoadPackedLinear(const WeightStore& store, const std::string& prefix,
                                      int64_t out, int64_t in, const CheckpointQuantization& q) {
  const std::string what = fmt::format("{}: '{}'", store.FileOf(prefix + ".qweight"), prefix);
  if (store.Contains(prefix + ".weight")) {
    return InvalidArgument("{} has both a packed '{}.qweight' and a float '{}.weight'", what,
                           prefix, prefix);
  }
  Result<LinearWeight> lw = q.method == "awq" ? LoadAwq(store, prefix, out, in, q, what)
                                              : LoadGptq(store, prefix, out, in, q, what);
  if (lw.ok()) {
    LOOM_LOG_DEBUG("{}: {} {}-bit -> {}{}", prefix, q.method, q.bits, DTypeName(lw->weight.dtype()),
                   lw->input_perm.empty() ? "" : " (act-order columns permuted)");
  }
  return lw;
}

Status CheckFusedQuantization(const WeightStore& store,
                              const std::map<std::string, std::vector<std::string>>& packed_mapping,
                              const std::string& method) {
  std::map<std::string, std::string> fused_of;  // member -> fused module
  for (const auto& [fused, members] : packed_mapping) {
    for (const std::string& m : members) fused_of[m] = fused;
  }
  // (parent module, fused module) -> member -> packed?
  std::map<std::pair<std::string, std::string>, std::map<std::string, bool>> seen;
  for (const std::string& name : store.Names()) {
    std::string module;
    bool packed = false;
    if (name.size() > 8 && name.ends_with(".qweight")) {
      module = name.substr(0, name.size() - 8);
      packed = true;
    } else if (name.size() > 7 && name.ends_with(".weight")) {
      module = name.substr(0, name.size() - 7);
    } else {
      continue;
    }
    const size_t dot = module.rfind('.');
    if (dot == std::string::npos) continue;
    auto it = fused_of.find(module.substr(dot + 1));
    if (it == fused_of.end()) continue;
    bool& p = seen[{module.substr(0, dot), it->second}][module.substr(dot + 1)];
    p = p || packed;
  }
  for (const auto& [key, members] : seen) {
    std::vector<std::string> packed, plain;
    for (const std::string& m : packed_mapping.at(key.second)) {
      auto it = members.find(m);
      if (it != members.end()) (it->second ? packed : plain).push_back(m);
    }
    if (!packed.empty() && !plain.empty()) {
      return InvalidArgument(
          "{}: layer '{}': fused module {} ({}) must be quantized alike, but {} {} {}-quantized "
          "(qweight) and {} {} "
          "not (weight)",
          store.location(), key.first, key.second, Join(packed_mapping.at(key.second)),
          Join(packed), packed.size() == 1 ? "is" : "are", method, Join(plain),
          plain.size() == 1 ? "is" : "are");
    }
  }
  return Status::Ok();
}

}  // namespace loom
