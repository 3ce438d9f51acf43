// Reads Hugging Face safetensors checkpoints: one `model.safetensors` or shards listed by
// `model.safetensors.index.json`. Files are mmapped; tensors are zero-copy views into the mapping
// when the data is aligned for its dtype, copies otherwise. Every byte of a header is untrusted:
// malformed files produce a DataLoss status naming the file, never a crash.
#pragma once

#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/status.h"
#include "core/tensor.h"

namespace loom {

class WeightStore {
 public:
  // `dir` holds model.safetensors.index.json (sharded) or model.safetensors.
  static Result<WeightStore> OpenDir(const std::filesystem::path& dir);
  // One .safetensors file.
  static Result<WeightStore> OpenFile(const std::filesystem::path& file);
  // Tensors from elsewhere (a GGUF file) under Hugging Face names; `location` names them in
  // messages.
  static WeightStore FromTensors(std::map<std::string, Tensor> tensors,
                                 const std::string& location);

  bool Contains(const std::string& name) const { return entries_.count(name) != 0; }
  // The tensor `name`; NotFound (naming the checkpoint) if absent.
  Result<Tensor> Get(const std::string& name) const;
  // The file a tensor lives in (for error messages); empty if absent.
  std::string FileOf(const std::string& name) const;
  std::vector<std::string> Names() const;
  // The checkpoint's location, for messages: a directory or a file.
  const std::string& location() const { return location_; }

 private:
  struct Entry {
    Tensor tensor;
    std::string file;  // file name, for messages
  };
  Status AddFile(const std::filesystem::path& file);

  std::map<std::string, Entry> entries_;
  std::string location_;
};

}  // namespace loom
