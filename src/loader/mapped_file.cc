#include "loader/mapped_file.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <mutex>
#include <vector>

namespace loom {
namespace {

// The live mappings, so ReleaseFilePages can tell file pages (safe to drop: the file has them)
// from anonymous memory (dropping would zero it).
std::mutex mappings_mu;
std::vector<const MappedFile*> mappings;

}  // namespace

MappedFile::~MappedFile() {
  if (addr == nullptr) return;
  {
    std::lock_guard<std::mutex> lock(mappings_mu);
    std::erase(mappings, this);
  }
  munmap(addr, size);
}

bool ReleaseFilePages(const void* p, size_t n) {
  const auto begin = reinterpret_cast<uintptr_t>(p), end = begin + n;
  std::lock_guard<std::mutex> lock(mappings_mu);
  const bool mapped = std::any_of(mappings.begin(), mappings.end(), [&](const MappedFile* m) {
    const auto a = reinterpret_cast<uintptr_t>(m->addr);
    return begin >= a && end <= a + m->size;
  });
  if (!mapped) return false;
  const auto page = static_cast<uintptr_t>(sysconf(_SC_PAGESIZE));
  const uintptr_t first = (begin + page - 1) / page * page, last = end / page * page;
  if (first < last) madvise(reinterpret_cast<void*>(first), last - first, MADV_DONTNEED);
  return true;
}

Result<std::shared_ptr<MappedFile>> MapFile(const std::filesystem::path& path) {
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return NotFound("{}: cannot open: {}", path.string(), std::strerror(errno));
  struct stat st {};
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    close(fd);
    return NotFound("{}: not a regular file", path.string());
  }
  auto m = std::make_shared<MappedFile>();
  m->size = static_cast<size_t>(st.st_size);
  if (m->size > 0) {
    void* p = mmap(nullptr, m->size, PROT_READ, MAP_PRIVATE, fd, 0);
    if (p == MAP_FAILED) {
      close(fd);
      return Internal("{}: mmap failed: {}", path.string(), std::strerror(errno));
    }
    m->addr = p;
    std::lock_guard<std::mutex> lock(mappings_mu);
    mappings.push_back(m.get());
  }
  close(fd);
  return m;
}

}  // namespace loom
