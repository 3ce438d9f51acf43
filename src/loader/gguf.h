// Reads GGUF v2/v3 files (llama.cpp's format): the key-value metadata and the tensor table, with
// tensor data used in place from a read-only mmap. Every byte of the file is untrusted: a bad
// magic or version, truncation, absurd counts or dimensions, an unknown tensor type, or data
// outside the file give a DataLoss/Unimplemented status naming the file, never a crash or a read
// out of bounds.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <span>
#include <string>
#include <vector>

#include "core/status.h"
#include "core/tensor.h"

namespace loom {

struct GgufTensor {
  std::string name;
  // Loom's order, outermost first: GGUF's ne reversed. A 2-D weight with ne = [in, out] is
  // [out, in], the Hugging Face Linear layout; its rows are contiguous runs of whole blocks.
  Tensor tensor;
  uint32_t ggml_type = 0;  // as stored (GGML_TYPE_*), for messages
};

class GgufFile {
 public:
  static Result<GgufFile> Open(const std::filesystem::path& path);
  // Parses a GGUF image already in memory (Open maps the file and calls this; also the fuzz
  // target's entry). Tensor views point into `bytes`, which `owner` (may be null) keeps alive;
  // `name` stands for the file in messages and path().
  static Result<GgufFile> Parse(std::span<const uint8_t> bytes, std::string name,
                                std::shared_ptr<void> owner);

  uint32_t version() const { return version_; }
  // Every key in file order. Values: numbers, bools and strings as JSON scalars, arrays as
  // JSON arrays (e.g. tokenizer.ggml.tokens: a list of strings). Integers keep their sign.
  const nlohmann::ordered_json& metadata() const { return metadata_; }
  const std::vector<GgufTensor>& tensors() const { return tensors_; }
  // The tensor `name`, or null.
  const GgufTensor* Find(const std::string& name) const;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  uint32_t version_ = 0;
  nlohmann::ordered_json metadata_ = nlohmann::ordered_json::object();
  std::vector<GgufTensor> tensors_;
  std::shared_ptr<void> mapping_;  // keeps the mmap alive for the tensor views
};

// The DType of a GGML_TYPE_* id Loom reads (F32, F16, BF16, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0,
// Q2_K..Q6_K), or Unimplemented naming the type.
Result<DType> DTypeOfGgmlType(uint32_t ggml_type);

}  // namespace loom
