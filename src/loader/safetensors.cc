#include "loader/safetensors.h"

#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>

#include "loader/mapped_file.h"

namespace loom {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

Result<DType> ParseDType(const std::string& s) {
  if (s == "F32") return DType::kF32;
  if (s == "F16") return DType::kF16;
  if (s == "BF16") return DType::kBF16;
  if (s == "I32") return DType::kI32;  // GPTQ / AWQ packed weights
  return Unimplemented("dtype {} is not supported (supported: F32, F16, BF16, I32)", s);
}

// Largest header we accept: real checkpoints have a few MB at most.
constexpr uint64_t kMaxHeaderBytes = 100ull << 20;

}  // namespace

Status WeightStore::AddFile(const fs::path& file) {
  const std::string name = file.string();
  LOOM_ASSIGN_OR_RETURN(std::shared_ptr<MappedFile> map, MapFile(file));
  if (map->size < 8) return DataLoss("{}: truncated safetensors file ({} bytes)", name, map->size);
  const auto* base = static_cast<const uint8_t*>(map->addr);
  uint64_t header_len = 0;
  std::memcpy(&header_len, base, 8);  // little-endian on every platform Loom targets
  if (header_len > kMaxHeaderBytes || header_len > map->size - 8) {
    return DataLoss(
        "{}: truncated or corrupt safetensors header (header says {} bytes, file has {})", name,
        header_len, map->size);
  }
  const json header =
      json::parse(base + 8, base + 8 + header_len, nullptr, /*allow_exceptions=*/false);
  if (!header.is_object()) return DataLoss("{}: safetensors header is not a JSON object", name);

  const uint64_t data_start = 8 + header_len;
  const uint64_t data_size = map->size - data_start;
  for (const auto& [tensor_name, info] : header.items()) {
    if (tensor_name == "__metadata__") continue;
    const auto bad = [&](std::string_view why) {
      return DataLoss("{}: tensor '{}': {}", name, tensor_name, why);
    };
    if (!info.is_object() || !info.contains("dtype") || !info.contains("shape") ||
        !info.contains("data_offsets")) {
      return bad("entry needs dtype, shape and data_offsets");
    }
    if (!info["dtype"].is_string()) return bad("dtype is not a string");
    Result<DType> dtype = ParseDType(info["dtype"].get<std::string>());
    if (!dtype.ok())
      return {dtype.status().code(),
              fmt::format("{}: tensor '{}': {}", name, tensor_name, dtype.status().message())};
    Shape shape;
    if (!info["shape"].is_array()) return bad("shape is not an array");
    uint64_t numel = 1;
    for (const auto& d : info["shape"]) {
      if (!d.is_number_unsigned()) return bad("shape has a non-integer or negative dimension");
      const uint64_t v = d.get<uint64_t>();
      if (v > (1ull << 40) || (v != 0 && numel > (1ull << 40) / v))
        return bad("shape is too large");
      numel *= v;
      shape.push_back(static_cast<int64_t>(v));
    }
    const auto& off = info["data_offsets"];
    if (!off.is_array() || off.size() != 2 || !off[0].is_number_unsigned() ||
        !off[1].is_number_unsigned()) {
      return bad("data_offsets must be two non-negative integers");
    }
    const uint64_t begin = off[0].get<uint64_t>(), end = off[1].get<uint64_t>();
    if (begin > end || end > data_size) {
      return DataLoss(
          "{}: tensor '{}': data [{}, {}) lies outside the file's {} data bytes (truncated file?)",
          name, tensor_name, begin, end, data_size);
    }
    if (end - begin != numel * DTypeSize(*dtype)) {
      return bad(fmt::format("{} bytes of data do not match shape {} of {}", end - begin,
                             ShapeString(shape), DTypeName(*dtype)));
    }
    if (entries_.count(tensor_name) != 0) return bad("tensor appears in more than one file");

    const uint8_t* src = base + data_start + begin;
    Tensor t;
    if (reinterpret_cast<uintptr_t>(src) % DTypeSize(*dtype) == 0) {
      // Zero copy: the mapping is read-only; kernels never write weights.
      t = Tensor::View(*dtype, shape, const_cast<uint8_t*>(src), map);
    } else {
      t = Tensor::Zeros(*dtype, shape);
      std::memcpy(t.raw(), src, end - begin);
    }
    entries_[tensor_name] = Entry{std::move(t), file.filename().string()};
  }
  return Status::Ok();
}

Result<WeightStore> WeightStore::OpenFile(const fs::path& file) {
  WeightStore store;
  store.location_ = file.string();
  LOOM_RETURN_IF_ERROR(store.AddFile(file));
  return store;
}

WeightStore WeightStore::FromTensors(std::map<std::string, Tensor> tensors,
                                     const std::string& location) {
  WeightStore store;
  store.location_ = location;
  for (auto& [name, t] : tensors) store.entries_[name] = Entry{std::move(t), location};
  return store;
}

Result<WeightStore> WeightStore::OpenDir(const fs::path& dir) {
  const fs::path index = dir / "model.safetensors.index.json";
  const fs::path single = dir / "model.safetensors";
  if (!fs::exists(index)) {
    if (!fs::exists(single)) {
      return NotFound("{}: no model.safetensors or model.safetensors.index.json", dir.string());
    }
    WeightStore store;
    LOOM_ASSIGN_OR_RETURN(store, OpenFile(single));
    store.location_ = dir.string();
    return store;
  }
  std::ifstream in(index);
  const json j = json::parse(in, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object() || !j.contains("weight_map") || !j["weight_map"].is_object()) {
    return DataLoss("{}: not a safetensors index (needs a weight_map object)", index.string());
  }
  std::set<std::string> files;
  for (const auto& [tensor, file] : j["weight_map"].items()) {
    if (!file.is_string())
      return DataLoss("{}: weight_map['{}'] is not a file name", index.string(), tensor);
    const std::string f = file.get<std::string>();
    if (f.find('/') != std::string::npos || f == "..") {
      return DataLoss("{}: weight_map['{}'] names a file outside the checkpoint", index.string(),
                      tensor);
    }
    files.insert(f);
  }
  WeightStore store;
  store.location_ = dir.string();
  for (const std::string& f : files) LOOM_RETURN_IF_ERROR(store.AddFile(dir / f));
  for (const auto& [tensor, file] : j["weight_map"].items()) {
    auto it = store.entries_.find(tensor);
    if (it == store.entries_.end() || it->second.file != file.get<std::string>()) {
      return DataLoss("{}: tensor '{}' is listed in {} but not stored there", index.string(),
                      tensor, file.get<std::string>());
    }
  }
  return store;
}

Result<Tensor> WeightStore::Get(const std::string& name) const {
  auto it = entries_.find(name);
  if (it == entries_.end()) return NotFound("{}: missing tensor '{}'", location_, name);
  return it->second.tensor;
}

std::string WeightStore::FileOf(const std::string& name) const {
  auto it = entries_.find(name);
  return it == entries_.end() ? std::string() : it->second.file;
}

std::vector<std::string> WeightStore::Names() const {
  std::vector<std::string> names;
  names.reserve(entries_.size());
  for (const auto& [n, e] : entries_) names.push_back(n);
  return names;
}

}  // namespace loom
