// jinja2's builtin tests (`x is defined`, `x is divisibleby 3`, ...).
#include <unordered_map>

#include "frontend/jinja/filters.h"
#include "frontend/jinja/interpreter.h"
#include "frontend/jinja/objects.h"
#include "frontend/jinja/py_ops.h"
#include "frontend/jinja/unicode.h"

namespace loom::jinja {
namespace {

Result<Value> OneArg(std::string_view name, CallArgs& args) {
  LOOM_ASSIGN_OR_RETURN(auto a, BindArgs(name, args, {"other"}, 1));
  return *a[0];
}

Status NoArgs(std::string_view name, CallArgs& args) { return BindArgs(name, args, {}).status(); }

#define LOOM_SIMPLE_TEST(fn, name, expr)                          \
  Result<bool> fn(Interpreter&, const Value& v, CallArgs& args) { \
    LOOM_RETURN_IF_ERROR(NoArgs(name, args));                     \
    return (expr);                                                \
  }

LOOM_SIMPLE_TEST(TestDefined, "defined", !v.is_undefined())
LOOM_SIMPLE_TEST(TestUndefined, "undefined", v.is_undefined())
LOOM_SIMPLE_TEST(TestNone, "none", v.is_none())
LOOM_SIMPLE_TEST(TestBoolean, "boolean", v.is_bool())
LOOM_SIMPLE_TEST(TestFalse, "false", v.is_bool() && !v.as_bool())
LOOM_SIMPLE_TEST(TestTrue, "true", v.is_bool() && v.as_bool())
LOOM_SIMPLE_TEST(TestInteger, "integer", v.is_int())
LOOM_SIMPLE_TEST(TestFloat, "float", v.is_float())
LOOM_SIMPLE_TEST(TestNumber, "number", v.is_number())
LOOM_SIMPLE_TEST(TestString, "string", v.is_string())
LOOM_SIMPLE_TEST(TestMapping, "mapping", v.is_dict())
LOOM_SIMPLE_TEST(TestEscaped, "escaped", v.is_markup())
// len() and __getitem__ exist: str, list, tuple, dict, and jinja2's Undefined.
LOOM_SIMPLE_TEST(TestSequence, "sequence",
                 v.is_string() || v.is_sequence() || v.is_dict() || v.is_undefined())
LOOM_SIMPLE_TEST(TestIterable, "iterable",
                 v.is_string() || v.is_list() || v.is_dict() || v.is_undefined())
// Undefined defines __call__ (it raises), so callable() is true for it.
LOOM_SIMPLE_TEST(TestCallable, "callable",
                 v.is_function() || v.is_undefined() ||
                     (v.is_object() && v.object().TypeName() == "LoopContext"))

#undef LOOM_SIMPLE_TEST

Result<bool> ModuloIs(Interpreter& in, const Value& v, const Value& divisor, int64_t remainder) {
  LOOM_ASSIGN_OR_RETURN(Value m, BinaryOp(in, "%", v, divisor));
  return Equals(m, Value::Int(remainder));
}

Result<bool> TestOdd(Interpreter& in, const Value& v, CallArgs& args) {
  LOOM_RETURN_IF_ERROR(NoArgs("odd", args));
  return ModuloIs(in, v, Value::Int(2), 1);
}

Result<bool> TestEven(Interpreter& in, const Value& v, CallArgs& args) {
  LOOM_RETURN_IF_ERROR(NoArgs("even", args));
  return ModuloIs(in, v, Value::Int(2), 0);
}

Result<bool> TestDivisibleby(Interpreter& in, const Value& v, CallArgs& args) {
  LOOM_ASSIGN_OR_RETURN(auto a, BindArgs("divisibleby", args, {"num"}, 1));
  return ModuloIs(in, v, *a[0], 0);
}

Result<bool> CaseIs(const Value& v, bool lower) {
  bool any = false;
  for (char32_t c : DecodeUtf8(ToStr(v))) {
    if (lower ? IsUpper(c) : IsLower(c)) return false;
    any |= lower ? IsLower(c) : IsUpper(c);
  }
  return any;
}

Result<bool> TestLower(Interpreter&, const Value& v, CallArgs& args) {
  LOOM_RETURN_IF_ERROR(NoArgs("lower", args));
  return CaseIs(v, true);
}

Result<bool> TestUpper(Interpreter&, const Value& v, CallArgs& args) {
  LOOM_RETURN_IF_ERROR(NoArgs("upper", args));
  return CaseIs(v, false);
}

// Python `is`: singletons and small ints compare by value, heap objects by identity.
Result<bool> TestSameas(Interpreter&, const Value& v, CallArgs& args) {
  LOOM_ASSIGN_OR_RETURN(Value other, OneArg("sameas", args));
  if (v.kind() != other.kind()) return false;
  switch (v.kind()) {
    case Value::Kind::kNone:
      return true;
    case Value::Kind::kBool:
      return v.as_bool() == other.as_bool();
    case Value::Kind::kInt:
      return v.as_int() == other.as_int() && v.as_int() >= -5 && v.as_int() <= 256;
    case Value::Kind::kFloat:
    case Value::Kind::kUndefined:
      return false;
    default:
      return v.identity() == other.identity();
  }
}

Result<bool> TestIn(Interpreter&, const Value& v, CallArgs& args) {
  LOOM_ASSIGN_OR_RETURN(Value seq, OneArg("in", args));
  return Contains(seq, v);
}

Result<bool> TestEq(Interpreter&, const Value& v, CallArgs& args) {
  LOOM_ASSIGN_OR_RETURN(Value other, OneArg("eq", args));
  return Equals(v, other);
}

Result<bool> TestNe(Interpreter&, const Value& v, CallArgs& args) {
  LOOM_ASSIGN_OR_RETURN(Value other, OneArg("ne", args));
  return !Equals(v, other);
}

Result<bool> Ordered(const Value& a, const Value& b, std::string_view op) {
  if (a.is_undefined() || b.is_undefined()) {
    return InvalidArgument("{}", (a.is_undefined() ? a : b).undefined_message());
  }
  Result<bool> lt = (op == "<" || op == ">=") ? Less(a, b) : Less(b, a);
  if (!lt.ok()) {
    return InvalidArgument("'{}' not supported between instances of '{}' and '{}'", op, TypeName(a),
                           TypeName(b));
  }
  return (op == "<" || op == ">") ? *lt : !*lt;
}

Result<bool> TestLt(Interpreter&, const Value& v, CallArgs& args) {
  LOOM_ASSIGN_OR_RETURN(Value other, OneArg("lt", args));
  return Ordered(v, other, "<");
}
Result<bool> TestLe(Interpreter&, const Value& v, CallArgs& args) {
  LOOM_ASSIGN_OR_RETURN(Value other, OneArg("le", args));
  return Ordered(v, other, "<=");
}
Result<bool> TestGt(Interpreter&, const Value& v, CallArgs& args) {
  LOOM_ASSIGN_OR_RETURN(Value other, OneArg("gt", args));
  return Ordered(v, other, ">");
}
Result<bool> TestGe(Interpreter&, const Value& v, CallArgs& args) {
  LOOM_ASSIGN_OR_RETURN(Value other, OneArg("ge", args));
  return Ordered(v, other, ">=");
}

Result<bool> TestFilter(Interpreter&, const Value& v, CallArgs& args) {
  LOOM_RETURN_IF_ERROR(NoArgs("filter", args));
  return v.is_string() && FindFilter(v.str()) != nullptr;
}

Result<bool> TestTest(Interpreter&, const Value& v, CallArgs& args) {
  LOOM_RETURN_IF_ERROR(NoArgs("test", args));
  return v.is_string() && FindTest(v.str()) != nullptr;
}

const std::unordered_map<std::string_view, TestFn>& Registry() {
  static const auto* registry = new std::unordered_map<std::string_view, TestFn>{
      {"odd", TestOdd},
      {"even", TestEven},
      {"divisibleby", TestDivisibleby},
      {"defined", TestDefined},
      {"undefined", TestUndefined},
      {"filter", TestFilter},
      {"test", TestTest},
      {"none", TestNone},
      {"boolean", TestBoolean},
      {"false", TestFalse},
      {"true", TestTrue},
      {"integer", TestInteger},
      {"float", TestFloat},
      {"lower", TestLower},
      {"upper", TestUpper},
      {"string", TestString},
      {"mapping", TestMapping},
      {"number", TestNumber},
      {"sequence", TestSequence},
      {"iterable", TestIterable},
      {"callable", TestCallable},
      {"sameas", TestSameas},
      {"escaped", TestEscaped},
      {"in", TestIn},
      {"==", TestEq},
      {"eq", TestEq},
      {"equalto", TestEq},
      {"!=", TestNe},
      {"ne", TestNe},
      {">", TestGt},
      {"gt", TestGt},
      {"greaterthan", TestGt},
      {"ge", TestGe},
      {">=", TestGe},
      {"<", TestLt},
      {"lt", TestLt},
      {"lessthan", TestLt},
      {"<=", TestLe},
      {"le", TestLe},
  };
  return *registry;
}

}  // namespace

TestFn FindTest(std::string_view name) {
  const auto& r = Registry();
  auto it = r.find(name);
  return it == r.end() ? nullptr : it->second;
}

}  // namespace loom::jinja
