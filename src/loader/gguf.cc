// GGUF v2/v3 after the public specification (llama.cpp docs/gguf.md). Layout, little-endian:
//   "GGUF" | u32 version | u64 tensor count | u64 metadata count
//   metadata: (string key, u32 value type, value)*         string = u64 length + bytes
//   tensor infos: (string name, u32 n_dims, u64 ne[n_dims], u32 ggml type, u64 offset)*
//   padding to general.alignment | tensor data (offsets relative to here, each aligned)
// Every count and length is checked against the bytes left before anything is allocated from it.
#include "loader/gguf.h"

#include <fmt/ranges.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <limits>
#include <numeric>
#include <string_view>
#include <unordered_set>

#include "loader/mapped_file.h"

namespace loom {
namespace {

using nlohmann::ordered_json;

constexpr uint64_t kDefaultAlignment = 32;
constexpr uint32_t kMaxDims = 4;
// Real files nest no arrays; the spec allows it. The cap bounds the parser's recursion.
constexpr int kMaxArrayDepth = 8;
// Smallest possible encodings, to bound counts by the bytes left: a metadata entry is a key
// length (8), a type (4) and at least one byte of value; a tensor info a name length (8), n_dims
// (4), one dimension (8), a type (4) and an offset (8).
constexpr uint64_t kMinEntryBytes = 13;
constexpr uint64_t kMinTensorInfoBytes = 32;
// Counts are bounded by the file size, but a few bytes of file can become ~50 bytes of memory;
// containers reserve at most this many elements up front and grow with what is actually read.
constexpr uint64_t kMaxReserve = 1 << 16;

// GGUF metadata value types.
enum ValueType : uint32_t {
  kU8,
  kI8,
  kU16,
  kI16,
  kU32,
  kI32,
  kF32,
  kBool,
  kString,
  kArray,
  kU64,
  kI64,
  kF64,
  kNumValueTypes,
};

std::string_view ValueTypeName(uint32_t t) {
  static constexpr std::array<std::string_view, kNumValueTypes> kNames = {
      "uint8", "int8",   "uint16", "int16",  "uint32", "int32",  "float32",
      "bool",  "string", "array",  "uint64", "int64",  "float64"};
  return t < kNumValueTypes ? kNames[t] : "unknown";
}

// Bytes of the smallest value of type t (t valid): strings are at least their length, arrays
// their element type and count.
uint64_t MinValueBytes(uint32_t t) {
  switch (t) {
    case kU8:
    case kI8:
    case kBool:
      return 1;
    case kU16:
    case kI16:
      return 2;
    case kU32:
    case kI32:
    case kF32:
      return 4;
    case kString:
    case kU64:
    case kI64:
    case kF64:
      return 8;
    default:
      return 12;  // kArray
  }
}

// GGML_TYPE_* names, for messages (ids of removed types keep their old names).
std::string_view GgmlTypeName(uint32_t t) {
  static constexpr std::array<std::string_view, 42> kNames = {
      "F32",   "F16",        "Q4_0",       "Q4_1",       "Q4_2",     "Q4_3",     "Q5_0",
      "Q5_1",  "Q8_0",       "Q8_1",       "Q2_K",       "Q3_K",     "Q4_K",     "Q5_K",
      "Q6_K",  "Q8_K",       "IQ2_XXS",    "IQ2_XS",     "IQ3_XXS",  "IQ1_S",    "IQ4_NL",
      "IQ3_S", "IQ2_S",      "IQ4_XS",     "I8",         "I16",      "I32",      "I64",
      "F64",   "IQ1_M",      "BF16",       "Q4_0_4_4",   "Q4_0_4_8", "Q4_0_8_8", "TQ1_0",
      "TQ2_0", "IQ4_NL_4_4", "IQ4_NL_4_8", "IQ4_NL_8_8", "MXFP4",    "NVFP4",    "Q1_0"};
  return t < kNames.size() ? kNames[t] : "unknown";
}

// Text from the file shown in a message: one line, ASCII, at most 96 bytes.
std::string Printable(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size() && i < 96; ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c < 0x7f) {
      out.push_back(static_cast<char>(c));
    } else {
      out += fmt::format("\\x{:02x}", c);
    }
  }
  if (s.size() > 96) out += "...";
  return out;
}

// Sequential little-endian reads from untrusted bytes; every read is bounds-checked.
class Reader {
 public:
  Reader(std::span<const uint8_t> bytes, const std::string& file) : bytes_(bytes), file_(file) {}

  uint64_t pos() const { return pos_; }
  uint64_t remaining() const { return bytes_.size() - pos_; }

  template <typename T>
  Status Read(T& out, std::string_view what) {
    if (remaining() < sizeof(T)) return Truncated(what, sizeof(T));
    std::memcpy(&out, bytes_.data() + pos_, sizeof(T));
    pos_ += sizeof(T);
    return Status::Ok();
  }

  Status ReadString(std::string& out, std::string_view what) {
    uint64_t len = 0;
    LOOM_RETURN_IF_ERROR(Read(len, what));
    if (len > remaining()) {
      return DataLoss(
          "{}: truncated or corrupt GGUF file: {} is a string of {} bytes at byte {}, "
          "but only {} bytes are left",
          file_, what, len, pos_, remaining());
    }
    out.assign(reinterpret_cast<const char*>(bytes_.data() + pos_), len);
    pos_ += len;
    return Status::Ok();
  }

  Status Truncated(std::string_view what, uint64_t need) const {
    return DataLoss("{}: truncated GGUF file: {} needs {} bytes at byte {}, only {} are left",
                    file_, what, need, pos_, remaining());
  }

 private:
  std::span<const uint8_t> bytes_;
  const std::string& file_;
  uint64_t pos_ = 0;
};

template <typename T, typename As>
Status ReadScalar(Reader& r, const std::string& what, ordered_json& out) {
  T v{};
  LOOM_RETURN_IF_ERROR(r.Read(v, what));
  out = static_cast<As>(v);  // unsigned types stay unsigned, signed ones signed
  return Status::Ok();
}

// One metadata value of `type`; `what` names the key for messages.
Status ReadValue(Reader& r, uint32_t type, int depth, const std::string& file,
                 const std::string& what, ordered_json& out) {
  switch (type) {
    case kU8:
      return ReadScalar<uint8_t, uint64_t>(r, what, out);
    case kI8:
      return ReadScalar<int8_t, int64_t>(r, what, out);
    case kU16:
      return ReadScalar<uint16_t, uint64_t>(r, what, out);
    case kI16:
      return ReadScalar<int16_t, int64_t>(r, what, out);
    case kU32:
      return ReadScalar<uint32_t, uint64_t>(r, what, out);
    case kI32:
      return ReadScalar<int32_t, int64_t>(r, what, out);
    case kU64:
      return ReadScalar<uint64_t, uint64_t>(r, what, out);
    case kI64:
      return ReadScalar<int64_t, int64_t>(r, what, out);
    case kF32:
      return ReadScalar<float, double>(r, what, out);
    case kF64:
      return ReadScalar<double, double>(r, what, out);
    case kBool: {
      uint8_t v = 0;
      LOOM_RETURN_IF_ERROR(r.Read(v, what));
      if (v > 1) return DataLoss("{}: {} has bool value {} (must be 0 or 1)", file, what, v);
      out = v == 1;
      return Status::Ok();
    }
    case kString: {
      std::string s;
      LOOM_RETURN_IF_ERROR(r.ReadString(s, what));
      out = std::move(s);
      return Status::Ok();
    }
    case kArray: {
      if (depth >= kMaxArrayDepth) {
        return DataLoss("{}: {} nests arrays deeper than {} levels", file, what, kMaxArrayDepth);
      }
      uint32_t elem = 0;
      uint64_t n = 0;
      LOOM_RETURN_IF_ERROR(r.Read(elem, what));
      if (elem >= kNumValueTypes) {
        return DataLoss("{}: {} is an array of unknown value type {}", file, what, elem);
      }
      LOOM_RETURN_IF_ERROR(r.Read(n, what));
      if (n > r.remaining() / MinValueBytes(elem)) {
        return DataLoss(
            "{}: truncated or corrupt GGUF file: {} is an array of {} {} values, which cannot fit "
            "in the {} bytes left",
            file, what, n, ValueTypeName(elem), r.remaining());
      }
      out = ordered_json::array();
      auto& array = out.get_ref<ordered_json::array_t&>();
      array.reserve(std::min(n, kMaxReserve));
      for (uint64_t i = 0; i < n; ++i) {
        array.emplace_back();
        LOOM_RETURN_IF_ERROR(ReadValue(r, elem, depth + 1, file, what, array.back()));
      }
      return Status::Ok();
    }
    default:
      return DataLoss("{}: {} has unknown value type {}", file, what, type);
  }
}

struct TensorInfo {
  std::string name;
  std::vector<uint64_t> ne;  // GGUF order, innermost first
  uint32_t ggml_type = 0;
  DType dtype = DType::kF32;
  uint64_t offset = 0;  // from the start of the data section
  uint64_t nbytes = 0;
};

// Checks the shape and type of a tensor and sets its size; every product is bounded by the file
// size so nothing overflows.
Status SizeTensor(TensorInfo& t, uint64_t file_size, const std::string& file) {
  const std::string name = Printable(t.name);
  for (uint64_t d : t.ne) {
    if (d == 0) {
      return DataLoss("{}: tensor '{}' has a zero dimension (ne [{}])", file, name,
                      fmt::join(t.ne, ", "));
    }
  }
  Result<DType> dtype = DTypeOfGgmlType(t.ggml_type);
  if (!dtype.ok()) {
    return Unimplemented(
        "{}: tensor '{}' has ggml type {} ({}), which Loom does not read (it reads F32, F16, BF16, "
        "Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q2_K, Q3_K, Q4_K, Q5_K, Q6_K)",
        file, name, t.ggml_type, GgmlTypeName(t.ggml_type));
  }
  t.dtype = *dtype;
  const auto block = static_cast<uint64_t>(DTypeBlockElems(t.dtype));
  if (t.ne[0] % block != 0) {
    return DataLoss(
        "{}: tensor '{}' of type {} has rows of {} elements, not a multiple of its "
        "block size {}",
        file, name, GgmlTypeName(t.ggml_type), t.ne[0], block);
  }
  const auto too_large = [&] {
    return DataLoss(
        "{}: tensor '{}' with ne [{}] of type {} is larger than the whole file ({} bytes)", file,
        name, fmt::join(t.ne, ", "), GgmlTypeName(t.ggml_type), file_size);
  };
  // A block is at least 2 bytes, so more blocks per row than file bytes cannot fit.
  if (t.ne[0] / block > file_size) return too_large();
  uint64_t bytes = t.ne[0] / block * static_cast<uint64_t>(DTypeBlockBytes(t.dtype));
  for (size_t d = 1; d < t.ne.size(); ++d) {
    if (t.ne[d] > file_size / bytes) return too_large();
    bytes *= t.ne[d];
  }
  if (bytes > file_size) return too_large();
  t.nbytes = bytes;
  return Status::Ok();
}

}  // namespace

Result<DType> DTypeOfGgmlType(uint32_t ggml_type) {
  switch (ggml_type) {
    case 0:
      return DType::kF32;
    case 1:
      return DType::kF16;
    case 2:
      return DType::kQ4_0;
    case 3:
      return DType::kQ4_1;
    case 6:
      return DType::kQ5_0;
    case 7:
      return DType::kQ5_1;
    case 8:
      return DType::kQ8_0;
    case 10:
      return DType::kQ2_K;
    case 11:
      return DType::kQ3_K;
    case 12:
      return DType::kQ4_K;
    case 13:
      return DType::kQ5_K;
    case 14:
      return DType::kQ6_K;
    case 30:
      return DType::kBF16;
    default:
      return Unimplemented("ggml type {} ({}) is not one Loom reads", ggml_type,
                           GgmlTypeName(ggml_type));
  }
}

const GgufTensor* GgufFile::Find(const std::string& name) const {
  for (const GgufTensor& t : tensors_) {
    if (t.name == name) return &t;
  }
  return nullptr;
}

Result<GgufFile> GgufFile::Open(const std::filesystem::path& path) {
  LOOM_ASSIGN_OR_RETURN(std::shared_ptr<MappedFile> map, MapFile(path));
  const std::span<const uint8_t> bytes = map->bytes();
  return Parse(bytes, path.string(), std::move(map));
}

Result<GgufFile> GgufFile::Parse(std::span<const uint8_t> bytes, std::string name,
                                 std::shared_ptr<void> owner) {
  GgufFile f;
  f.path_ = std::move(name);
  f.mapping_ = std::move(owner);
  const std::string& file = f.path_;
  Reader r(bytes, file);

  // Header.
  if (bytes.size() < 4) return r.Truncated("the magic 'GGUF'", 4);
  if (std::memcmp(bytes.data(), "GGUF", 4) != 0) {
    return DataLoss("{}: not a GGUF file (it starts with '{}', not 'GGUF')", file,
                    Printable({reinterpret_cast<const char*>(bytes.data()), 4}));
  }
  uint32_t magic = 0;
  LOOM_RETURN_IF_ERROR(r.Read(magic, "the magic"));
  LOOM_RETURN_IF_ERROR(r.Read(f.version_, "the version"));
  if (f.version_ == 1) {
    return Unimplemented(
        "{}: GGUF version 1 is not supported (Loom reads versions 2 and 3; "
        "convert the model again with a current llama.cpp)",
        file);
  }
  if (f.version_ != 2 && f.version_ != 3) {
    // A big-endian v3 file reads as 0x03000000 here.
    const bool swapped = (f.version_ & 0xffffu) == 0;
    return Unimplemented("{}: GGUF version {} is not supported (Loom reads versions 2 and 3{})",
                         file, f.version_, swapped ? "; this looks like a big-endian file" : "");
  }
  uint64_t n_tensors = 0, n_entries = 0;
  LOOM_RETURN_IF_ERROR(r.Read(n_tensors, "the tensor count"));
  LOOM_RETURN_IF_ERROR(r.Read(n_entries, "the metadata count"));
  if (n_entries > r.remaining() / kMinEntryBytes ||
      n_tensors > r.remaining() / kMinTensorInfoBytes ||
      n_entries * kMinEntryBytes + n_tensors * kMinTensorInfoBytes > r.remaining()) {
    return DataLoss(
        "{}: truncated or corrupt GGUF header: {} tensors and {} metadata entries "
        "cannot fit in the {} bytes left",
        file, n_tensors, n_entries, r.remaining());
  }

  // Metadata. Keys are appended to the ordered object's vector directly: ordered_json's own
  // insert searches linearly, quadratic in a hostile file's entry count; `keys` finds duplicates.
  uint64_t alignment = kDefaultAlignment;
  std::unordered_set<std::string> keys;
  auto& entries = static_cast<ordered_json::object_t::Container&>(
      f.metadata_.get_ref<ordered_json::object_t&>());
  entries.reserve(std::min(n_entries, kMaxReserve));
  for (uint64_t i = 0; i < n_entries; ++i) {
    std::string key;
    LOOM_RETURN_IF_ERROR(r.ReadString(key, fmt::format("metadata key {}", i)));
    if (key.empty()) return DataLoss("{}: metadata key {} is empty", file, i);
    if (!keys.insert(key).second) {
      return DataLoss("{}: metadata key '{}' appears twice", file, Printable(key));
    }
    const std::string what = fmt::format("metadata '{}'", Printable(key));
    uint32_t type = 0;
    LOOM_RETURN_IF_ERROR(r.Read(type, what));
    ordered_json value;
    LOOM_RETURN_IF_ERROR(ReadValue(r, type, 0, file, what, value));
    if (key == "general.alignment") {
      if (type != kU32) {
        return DataLoss("{}: general.alignment must be a uint32, not a {}", file,
                        ValueTypeName(type));
      }
      alignment = value.get<uint64_t>();
      if (alignment == 0 || (alignment & (alignment - 1)) != 0) {
        return DataLoss("{}: general.alignment {} is not a power of two", file, alignment);
      }
    }
    entries.emplace_back(std::move(key), std::move(value));
  }

  // Tensor infos.
  std::vector<TensorInfo> infos;
  infos.reserve(std::min(n_tensors, kMaxReserve));
  std::unordered_set<std::string> names;
  for (uint64_t i = 0; i < n_tensors; ++i) {
    TensorInfo& t = infos.emplace_back();
    LOOM_RETURN_IF_ERROR(r.ReadString(t.name, fmt::format("the name of tensor {}", i)));
    const std::string what = fmt::format("tensor '{}'", Printable(t.name));
    if (!names.insert(t.name).second) {
      return DataLoss("{}: {} appears twice", file, what);
    }
    uint32_t n_dims = 0;
    LOOM_RETURN_IF_ERROR(r.Read(n_dims, what));
    if (n_dims == 0 || n_dims > kMaxDims) {
      return DataLoss("{}: {} has {} dimensions (GGUF allows 1 to {})", file, what, n_dims,
                      kMaxDims);
    }
    t.ne.resize(n_dims);
    for (uint64_t& d : t.ne) LOOM_RETURN_IF_ERROR(r.Read(d, what));
    LOOM_RETURN_IF_ERROR(r.Read(t.ggml_type, what));
    LOOM_RETURN_IF_ERROR(r.Read(t.offset, what));
    LOOM_RETURN_IF_ERROR(SizeTensor(t, bytes.size(), file));
  }

  if (n_tensors == 0) return f;

  // Tensor data: the section starts at the next multiple of the alignment after the infos.
  const uint64_t data_start = r.pos() + (alignment - r.pos() % alignment) % alignment;
  if (data_start > bytes.size()) {
    return DataLoss(
        "{}: truncated GGUF file: tensor data should start at byte {}, but the file "
        "has {} bytes",
        file, data_start, bytes.size());
  }
  const uint64_t data_size = bytes.size() - data_start;
  for (const TensorInfo& t : infos) {
    if (t.offset % alignment != 0) {
      return DataLoss("{}: tensor '{}' has data offset {}, not a multiple of the alignment {}",
                      file, Printable(t.name), t.offset, alignment);
    }
    if (t.offset > data_size || t.nbytes > data_size - t.offset) {
      return DataLoss(
          "{}: tensor '{}': {} bytes of data at offset {} lie outside the file's {} "
          "data bytes (truncated file?)",
          file, Printable(t.name), t.nbytes, t.offset, data_size);
    }
  }
  std::vector<size_t> order(infos.size());
  std::iota(order.begin(), order.end(), size_t{0});
  std::sort(order.begin(), order.end(),
            [&](size_t a, size_t b) { return infos[a].offset < infos[b].offset; });
  for (size_t i = 1; i < order.size(); ++i) {
    const TensorInfo& prev = infos[order[i - 1]];
    const TensorInfo& cur = infos[order[i]];
    if (prev.offset + prev.nbytes > cur.offset) {
      return DataLoss("{}: tensors '{}' and '{}' overlap (data offsets {} and {}, {} and {} bytes)",
                      file, Printable(prev.name), Printable(cur.name), prev.offset, cur.offset,
                      prev.nbytes, cur.nbytes);
    }
  }

  f.tensors_.reserve(infos.size());
  for (TensorInfo& t : infos) {
    const uint8_t* src = bytes.data() + data_start + t.offset;
    const Shape shape(t.ne.rbegin(), t.ne.rend());  // Loom order: outermost first
    // Zero copy when the data is aligned for its loads (f16 fields in quantized blocks); the
    // mapping is read-only and kernels never write weights. Files with a small alignment get a
    // copy.
    const size_t align = IsQuantized(t.dtype) ? 2 : DTypeSize(t.dtype);
    Tensor tensor;
    if (reinterpret_cast<uintptr_t>(src) % align == 0) {
      tensor = Tensor::View(t.dtype, shape, const_cast<uint8_t*>(src), f.mapping_);
    } else {
      tensor = Tensor::Zeros(t.dtype, shape);
      std::memcpy(tensor.raw(), src, t.nbytes);
    }
    f.tensors_.push_back(GgufTensor{std::move(t.name), std::move(tensor), t.ggml_type});
  }
  return f;
}

}  // namespace loom
