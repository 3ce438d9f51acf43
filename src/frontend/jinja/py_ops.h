// Python operator semantics for template expressions: arithmetic, slicing, and the two string
// formatting mini-languages (printf-style `%` and str.format).
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "core/status.h"
#include "frontend/jinja/value.h"

namespace loom::jinja {

class Interpreter;

// op is one of + - * / // % **.
Result<Value> BinaryOp(Interpreter& in, std::string_view op, const Value& a, const Value& b);
Result<Value> UnaryOp(char op, const Value& v);  // op is '-' or '+'
// obj[start:stop:step]; nullopt bounds are omitted.
Result<Value> SliceValue(const Value& obj, const Value& start, const Value& stop,
                         const Value& step);
// Python str % args.
Result<std::string> PercentFormat(std::string_view fmt, const Value& args);
// Python str.format(*args, **kwargs), with field lookups through the sandbox.
Result<std::string> StrFormat(Interpreter& in, std::string_view fmt, const CallArgs& args);
// Python int(str) / float(str) parsing (whitespace and underscores allowed).
std::optional<int64_t> ParsePyInt(std::string_view s, int base);
std::optional<double> ParsePyFloat(std::string_view s);

}  // namespace loom::jinja
