#include "tokenizer/json_util.h"

#include <fmt/format.h>

namespace loom::tok {

std::string Child(std::string_view where, std::string_view key) {
  if (where.ends_with(".json")) return fmt::format("{}: {}", where, key);
  return fmt::format("{}.{}", where, key);
}

std::string Index(std::string_view where, size_t i) { return fmt::format("{}[{}]", where, i); }

Status BadField(std::string_view where, std::string_view what) {
  return DataLoss("{}: {}", where, what);
}

Status Unsupported(std::string_view where, std::string_view what) {
  return Unimplemented("{}: {}", where, what);
}

const Json* Find(const Json& obj, std::string_view key) {
  if (!obj.is_object()) return nullptr;
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return nullptr;
  return &*it;
}

Result<std::string> GetString(const Json& obj, std::string_view key, std::string_view where,
                              std::optional<std::string> fallback) {
  const Json* v = Find(obj, key);
  if (v == nullptr) {
    if (fallback) return *fallback;
    return BadField(Child(where, key), "missing (expected a string)");
  }
  if (!v->is_string())
    return BadField(Child(where, key), fmt::format("expected a string, got {}", v->type_name()));
  return v->get<std::string>();
}

Result<bool> GetBool(const Json& obj, std::string_view key, std::string_view where,
                     std::optional<bool> fallback) {
  const Json* v = Find(obj, key);
  if (v == nullptr) {
    if (fallback) return *fallback;
    return BadField(Child(where, key), "missing (expected a boolean)");
  }
  if (!v->is_boolean())
    return BadField(Child(where, key), fmt::format("expected a boolean, got {}", v->type_name()));
  return v->get<bool>();
}

Result<int64_t> GetInt(const Json& obj, std::string_view key, std::string_view where,
                       std::optional<int64_t> fallback) {
  const Json* v = Find(obj, key);
  if (v == nullptr) {
    if (fallback) return *fallback;
    return BadField(Child(where, key), "missing (expected an integer)");
  }
  if (!v->is_number_integer()) {
    return BadField(Child(where, key), fmt::format("expected an integer, got {}", v->type_name()));
  }
  return v->get<int64_t>();
}

Result<const Json*> GetObject(const Json& obj, std::string_view key, std::string_view where) {
  const Json* v = Find(obj, key);
  if (v == nullptr) return BadField(Child(where, key), "missing (expected an object)");
  if (!v->is_object())
    return BadField(Child(where, key), fmt::format("expected an object, got {}", v->type_name()));
  return v;
}

Result<const Json*> GetArray(const Json& obj, std::string_view key, std::string_view where) {
  const Json* v = Find(obj, key);
  if (v == nullptr) return BadField(Child(where, key), "missing (expected an array)");
  if (!v->is_array())
    return BadField(Child(where, key), fmt::format("expected an array, got {}", v->type_name()));
  return v;
}

Result<std::string> GetType(const Json& obj, std::string_view where) {
  if (!obj.is_object())
    return BadField(where, fmt::format("expected an object, got {}", obj.type_name()));
  return GetString(obj, "type", where);
}

}  // namespace loom::tok
