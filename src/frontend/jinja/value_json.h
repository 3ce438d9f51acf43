// Conversion between nlohmann JSON (template context) and interpreter values, and Python's
// json.dumps, which transformers' tojson filter override calls.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "core/status.h"
#include "frontend/jinja/value.h"

namespace loom::jinja {

// Deeper structures are rejected: conversion, repr and dumps recurse once per level.
inline constexpr int kMaxValueDepth = 256;

// JSON objects become insertion-ordered dicts (Python's json.loads keeps key order).
Result<Value> FromJson(const nlohmann::ordered_json& json);

// json.dumps(x, ensure_ascii, indent, separators, sort_keys).
struct DumpsOptions {
  bool ensure_ascii = false;
  std::optional<std::string> indent;  // the per-level indent string; nullopt = single line
  std::optional<std::pair<std::string, std::string>> separators;  // (item, key)
  bool sort_keys = false;
};
Result<std::string> PyJsonDumps(const Value& v, const DumpsOptions& options);

}  // namespace loom::jinja
