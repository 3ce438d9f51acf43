// A whole file mapped read-only (MAP_PRIVATE), unmapped when the last owner is gone. Loaders hand
// the shared_ptr to Tensor::View as the owner, so weight views keep their file mapped.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <span>

#include "core/status.h"

namespace loom {

struct MappedFile {
  void* addr = nullptr;  // null for an empty file
  size_t size = 0;
  ~MappedFile();
  std::span<const uint8_t> bytes() const { return {static_cast<const uint8_t*>(addr), size}; }
};

// NotFound if the path cannot be opened or is not a regular file.
Result<std::shared_ptr<MappedFile>> MapFile(const std::filesystem::path& path);

// If [p, p + n) lies within a live MapFile mapping, drops the whole pages inside it from this
// process's resident memory (they are read from the file again if touched) and returns true;
// otherwise does nothing. For weights read once at load and then kept in another layout.
bool ReleaseFilePages(const void* p, size_t n);

}  // namespace loom
