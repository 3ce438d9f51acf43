// Registries of jinja2's builtin filters and tests, plus transformers' tojson override.
#pragma once

#include <string_view>

#include "core/status.h"
#include "frontend/jinja/value.h"

namespace loom::jinja {

class Interpreter;

using FilterFn = Result<Value> (*)(Interpreter& in, const Value& input, CallArgs& args);
using TestFn = Result<bool> (*)(Interpreter& in, const Value& input, CallArgs& args);

// nullptr when jinja2 has no filter / test of that name.
FilterFn FindFilter(std::string_view name);
TestFn FindTest(std::string_view name);
inline bool FilterExists(std::string_view name) { return FindFilter(name) != nullptr; }
inline bool TestExists(std::string_view name) { return FindTest(name) != nullptr; }

}  // namespace loom::jinja
