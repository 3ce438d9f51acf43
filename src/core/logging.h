// Process-wide logging to stderr. Level from LOOM_LOG_LEVEL (debug, info, warn, error; default
// warn) so CLI output on stdout stays machine-readable.
#pragma once

#include <fmt/core.h>

#include <string_view>

namespace loom {

enum class LogLevel { kDebug, kInfo, kWarn, kError };

LogLevel CurrentLogLevel();
void LogLine(LogLevel level, std::string_view message);

template <typename... Args>
void Log(LogLevel level, fmt::format_string<Args...> f, Args&&... args) {
  if (level >= CurrentLogLevel()) LogLine(level, fmt::format(f, std::forward<Args>(args)...));
}

}  // namespace loom

#define LOOM_LOG_DEBUG(...) ::loom::Log(::loom::LogLevel::kDebug, __VA_ARGS__)
#define LOOM_LOG_INFO(...) ::loom::Log(::loom::LogLevel::kInfo, __VA_ARGS__)
#define LOOM_LOG_WARN(...) ::loom::Log(::loom::LogLevel::kWarn, __VA_ARGS__)
#define LOOM_LOG_ERROR(...) ::loom::Log(::loom::LogLevel::kError, __VA_ARGS__)
