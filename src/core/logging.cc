#include "core/logging.h"

#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <string>

namespace loom {

LogLevel CurrentLogLevel() {
  static const LogLevel level = [] {
    const char* env = std::getenv("LOOM_LOG_LEVEL");
    const std::string s = env ? env : "warn";
    if (s == "debug") return LogLevel::kDebug;
    if (s == "info") return LogLevel::kInfo;
    if (s == "error") return LogLevel::kError;
    return LogLevel::kWarn;
  }();
  return level;
}

void LogLine(LogLevel level, std::string_view message) {
  static std::mutex mu;
  static constexpr const char* kNames[] = {"debug", "info", "warn", "error"};
  std::lock_guard<std::mutex> lock(mu);
  std::fprintf(stderr, "[loom %s] %.*s\n", kNames[static_cast<int>(level)],
               static_cast<int>(message.size()), message.data());
}

}  // namespace loom
