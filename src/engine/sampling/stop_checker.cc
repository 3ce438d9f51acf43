#include "engine/sampling/stop_checker.h"

#include <algorithm>

namespace loom {
namespace {

bool IsContinuationByte(char c) { return (static_cast<unsigned char>(c) & 0xC0) == 0x80; }

size_t CodePoints(std::string_view s) {
  return static_cast<size_t>(
      std::count_if(s.begin(), s.end(), [](char c) { return !IsContinuationByte(c); }));
}

}  // namespace

StopChecker::StopChecker(std::vector<std::string> stop, bool include_stop_str_in_output)
    : stop_(std::move(stop)), include_in_output_(include_stop_str_in_output) {
  if (!include_in_output_) {
    for (const std::string& s : stop_) buffer_chars_ = std::max(buffer_chars_, CodePoints(s));
    if (buffer_chars_ > 0) --buffer_chars_;
  }
}

StopCheck StopChecker::Check(std::string_view text, size_t new_bytes) const {
  StopCheck r;
  r.kept = text;
  new_bytes = std::min(new_bytes, text.size());
  if (new_bytes > 0) {
    size_t best_end = std::string_view::npos;
    size_t best_begin = 0;
    for (size_t i = 0; i < stop_.size(); ++i) {
      const std::string& s = stop_[i];
      if (s.empty()) continue;  // rejected by Validate; would match everywhere
      const size_t from = text.size() - new_bytes;
      const size_t start = from + 1 >= s.size() ? from + 1 - s.size() : 0;
      const size_t pos = text.find(s, start);
      if (pos == std::string_view::npos || pos + s.size() >= best_end) continue;
      best_end = pos + s.size();
      best_begin = pos;
      r.stop_index = static_cast<int>(i);
    }
    if (r.stop_index >= 0) {
      r.stopped = true;
      r.kept = text.substr(0, include_in_output_ ? best_end : best_begin);
      return r;
    }
  }
  r.hold_back = HoldBack(text);
  return r;
}

size_t StopChecker::HoldBack(std::string_view text) const {
  size_t bytes = 0;
  for (size_t chars = 0; chars < buffer_chars_ && bytes < text.size(); ++chars) {
    // Step back over one code point: continuation bytes, then its lead byte.
    do {
      ++bytes;
    } while (bytes < text.size() && IsContinuationByte(text[text.size() - bytes]));
  }
  return bytes;
}

}  // namespace loom
