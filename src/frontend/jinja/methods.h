// Attributes of builtin Python types that templates call: str, dict and list methods.
#pragma once

#include <optional>
#include <string_view>

#include "frontend/jinja/value.h"

namespace loom::jinja {

// Python getattr(obj, name) for str/dict/list values: a bound method, or (for methods the
// ImmutableSandboxedEnvironment forbids, e.g. list.append, dict.update) an undefined value that
// raises jinja2's SecurityError message when called. nullopt when the type has no such attribute.
std::optional<Value> BuiltinAttr(const Value& obj, std::string_view name);

}  // namespace loom::jinja
