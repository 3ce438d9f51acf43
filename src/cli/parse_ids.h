// "1,2,3" -> token ids, for --prompt-ids and --ids.
#pragma once

#include <string>
#include <vector>

#include "core/status.h"

namespace loom::cli {

inline Result<std::vector<int32_t>> ParseIds(const std::string& s, const char* flag) {
  std::vector<int32_t> ids;
  size_t pos = 0;
  while (pos <= s.size()) {
    const size_t comma = std::min(s.find(',', pos), s.size());
    const std::string item = s.substr(pos, comma - pos);
    size_t used = 0;
    long long v = -1;
    try {
      v = std::stoll(item, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used == 0 || used != item.size() || v < 0 || v > INT32_MAX) {
      return InvalidArgument("{}: '{}' is not a token id (expected e.g. 1,2,3)", flag, item);
    }
    ids.push_back(static_cast<int32_t>(v));
    pos = comma + 1;
  }
  return ids;
}

}  // namespace loom::cli
