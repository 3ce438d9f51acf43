// Expression evaluation and jinja2's sandboxed attribute / item lookup.
#include <fmt/core.h>

#include "frontend/jinja/filters.h"
#include "frontend/jinja/interpreter.h"
#include "frontend/jinja/methods.h"
#include "frontend/jinja/py_ops.h"
#include "frontend/jinja/unicode.h"

namespace loom::jinja {
namespace {

// jinja2 Undefined(obj=obj, name=name) message.
Value MissingAttr(const Value& obj, const Value& name) {
  if (name.is_string()) {
    return Value::Undefined(
        fmt::format("'{}' has no attribute {}", ObjectTypeRepr(obj), StrRepr(name.str())));
  }
  return Value::Undefined(fmt::format("{} has no element {}", ObjectTypeRepr(obj), Repr(name)));
}

// Python obj[key] for the subscriptable builtin types; nullopt where Python raises
// TypeError/LookupError (which the sandbox turns into an attribute lookup or undefined).
std::optional<Value> PyIndex(const Value& obj, const Value& key) {
  if (obj.is_dict()) {
    const Value* v = obj.dict().Find(key);
    if (v != nullptr) return *v;
    return std::nullopt;
  }
  if ((obj.is_sequence() || obj.is_string()) && (key.is_int() || key.is_bool())) {
    int64_t i = key.as_int();
    if (obj.is_string()) {
      std::u32string cps = DecodeUtf8(obj.str());
      int64_t n = static_cast<int64_t>(cps.size());
      if (i < 0) i += n;
      if (i < 0 || i >= n) return std::nullopt;
      std::string ch;
      AppendUtf8(ch, cps[static_cast<size_t>(i)]);
      return Value::String(std::move(ch), obj.is_markup());
    }
    const auto& items = obj.list().items;
    int64_t n = static_cast<int64_t>(items.size());
    if (i < 0) i += n;
    if (i < 0 || i >= n) return std::nullopt;
    return items[static_cast<size_t>(i)];
  }
  return std::nullopt;
}

// Python getattr(obj, name); nullopt for AttributeError. The sandbox refuses every attribute
// starting with "_": such an attribute, when it exists, reads as an undefined value that raises
// SecurityError's message once used. Builtin values have dunder attributes (__class__, ...).
std::optional<Value> SandboxedGetAttr(const Value& obj, std::string_view name) {
  bool underscore = !name.empty() && name[0] == '_';
  std::optional<Value> v;
  if (obj.is_object()) {
    v = obj.object().GetAttr(name);
  } else if (underscore && name.size() > 1 && name[1] == '_') {
    v = Value();  // exists in Python; its value is never exposed
  } else {
    v = BuiltinAttr(obj, name);
  }
  if (v && underscore) {
    return Value::Undefined(
        fmt::format("access to attribute '{}' of '{}' object is unsafe.", name, TypeName(obj)));
  }
  return v;
}

}  // namespace

Result<Value> Interpreter::GetAttr(const Value& obj, std::string_view name) {
  if (obj.is_undefined()) return InvalidArgument("{}", obj.undefined_message());
  if (std::optional<Value> v = SandboxedGetAttr(obj, name)) return *v;
  Value key = Value::String(std::string(name));
  if (std::optional<Value> v = PyIndex(obj, key)) return *v;
  return MissingAttr(obj, key);
}

Result<Value> Interpreter::GetItem(const Value& obj, const Value& key) {
  if (obj.is_undefined()) return InvalidArgument("{}", obj.undefined_message());
  if (std::optional<Value> v = PyIndex(obj, key)) return *v;
  if (key.is_string()) {
    if (std::optional<Value> v = SandboxedGetAttr(obj, key.str())) return *v;
  }
  return MissingAttr(obj, key);
}

Result<Value> Interpreter::ApplyFilter(std::string_view name, const Value& input, CallArgs& args) {
  FilterFn f = FindFilter(name);
  if (f == nullptr) return InvalidArgument("No filter named '{}' found.", name);
  return f(*this, input, args);
}

Result<bool> Interpreter::ApplyTest(std::string_view name, const Value& input, CallArgs& args) {
  TestFn t = FindTest(name);
  if (t == nullptr) return InvalidArgument("No test named '{}' found.", name);
  return t(*this, input, args);
}

Result<CallArgs> Interpreter::EvalArgs(const Expr& e, const ScopePtr& scope) {
  CallArgs args;
  for (const auto& a : e.args) {
    LOOM_ASSIGN_OR_RETURN(Value v, Eval(*a, scope));
    args.positional.push_back(std::move(v));
  }
  if (e.dyn_args) {
    LOOM_ASSIGN_OR_RETURN(Value v, Eval(*e.dyn_args, scope));
    LOOM_ASSIGN_OR_RETURN(std::vector<Value> extra, Iterate(v));
    for (Value& x : extra) args.positional.push_back(std::move(x));
  }
  for (const auto& [k, ex] : e.kwargs) {
    LOOM_ASSIGN_OR_RETURN(Value v, Eval(*ex, scope));
    args.keywords.emplace_back(k, std::move(v));
  }
  if (e.dyn_kwargs) {
    LOOM_ASSIGN_OR_RETURN(Value v, Eval(*e.dyn_kwargs, scope));
    if (!v.is_dict()) return InvalidArgument("argument after ** must be a mapping");
    for (const auto& [k, x] : v.dict().entries) {
      if (!k.is_string()) return InvalidArgument("keywords must be strings");
      args.keywords.emplace_back(k.str(), x);
    }
  }
  return args;
}

Result<Value> Interpreter::EvalCompare(const Expr& e, const ScopePtr& scope) {
  LOOM_ASSIGN_OR_RETURN(Value left, Eval(*e.operands[0], scope));
  for (size_t i = 0; i < e.compare_ops.size(); ++i) {
    LOOM_ASSIGN_OR_RETURN(Value right, Eval(*e.operands[i + 1], scope));
    const std::string& op = e.compare_ops[i];
    bool r = false;
    if (op == "==") {
      r = Equals(left, right);
    } else if (op == "!=") {
      r = !Equals(left, right);
    } else if (op == "in" || op == "notin") {
      LOOM_ASSIGN_OR_RETURN(r, Contains(right, left));
      if (op == "notin") r = !r;
    } else {
      if (left.is_undefined() || right.is_undefined()) {
        return InvalidArgument("{}", (left.is_undefined() ? left : right).undefined_message());
      }
      Result<bool> lt = (op == "<" || op == ">=") ? Less(left, right) : Less(right, left);
      if (!lt.ok()) {
        if (left.is_sequence() && right.is_sequence()) return lt.status();
        return InvalidArgument("'{}' not supported between instances of '{}' and '{}'", op,
                               TypeName(left), TypeName(right));
      }
      // a <= b is not (b < a); a >= b is not (a < b).
      r = (op == "<" || op == ">") ? *lt : !*lt;
    }
    if (!r) return Value::Bool(false);
    left = std::move(right);
  }
  return Value::Bool(true);
}

Result<Value> Interpreter::EvalGetitem(const Expr& e, const ScopePtr& scope) {
  LOOM_ASSIGN_OR_RETURN(Value obj, Eval(*e.operands[0], scope));
  const Expr& key = *e.operands[1];
  if (key.kind != ExprKind::kSlice) {
    LOOM_ASSIGN_OR_RETURN(Value k, Eval(key, scope));
    return GetItem(obj, k);
  }
  Value bounds[3];
  for (int i = 0; i < 3; ++i) {
    if (key.operands[i]) {
      LOOM_ASSIGN_OR_RETURN(bounds[i], Eval(*key.operands[i], scope));
    } else {
      bounds[i] = Value::None();
    }
  }
  if (obj.is_undefined()) return InvalidArgument("{}", obj.undefined_message());
  return SliceValue(obj, bounds[0], bounds[1], bounds[2]);
}

Result<Value> Interpreter::Eval(const Expr& e, const ScopePtr& scope) {
  LOOM_RETURN_IF_ERROR(Step());
  switch (e.kind) {
    case ExprKind::kConst:
      return e.constant;
    case ExprKind::kName: {
      const Value* v = scope->Find(e.name);
      if (v == nullptr) return Value::Undefined(fmt::format("'{}' is undefined", e.name));
      return *v;
    }
    case ExprKind::kGetattr: {
      LOOM_ASSIGN_OR_RETURN(Value obj, Eval(*e.operands[0], scope));
      return GetAttr(obj, e.name);
    }
    case ExprKind::kGetitem:
      return EvalGetitem(e, scope);
    case ExprKind::kSlice:
      return InvalidArgument("slice outside of a subscript");
    case ExprKind::kCall: {
      LOOM_ASSIGN_OR_RETURN(Value callee, Eval(*e.operands[0], scope));
      LOOM_ASSIGN_OR_RETURN(CallArgs args, EvalArgs(e, scope));
      return Call(callee, args);
    }
    case ExprKind::kFilter: {
      LOOM_ASSIGN_OR_RETURN(Value input, Eval(*e.operands[0], scope));
      LOOM_ASSIGN_OR_RETURN(CallArgs args, EvalArgs(e, scope));
      return ApplyFilter(e.name, input, args);
    }
    case ExprKind::kTest: {
      LOOM_ASSIGN_OR_RETURN(Value input, Eval(*e.operands[0], scope));
      LOOM_ASSIGN_OR_RETURN(CallArgs args, EvalArgs(e, scope));
      LOOM_ASSIGN_OR_RETURN(bool r, ApplyTest(e.name, input, args));
      return Value::Bool(r);
    }
    case ExprKind::kNeg:
    case ExprKind::kPos: {
      LOOM_ASSIGN_OR_RETURN(Value v, Eval(*e.operands[0], scope));
      return UnaryOp(e.kind == ExprKind::kNeg ? '-' : '+', v);
    }
    case ExprKind::kNot: {
      LOOM_ASSIGN_OR_RETURN(Value v, Eval(*e.operands[0], scope));
      return Value::Bool(!Truthy(v));
    }
    case ExprKind::kBinary: {
      LOOM_ASSIGN_OR_RETURN(Value a, Eval(*e.operands[0], scope));
      LOOM_ASSIGN_OR_RETURN(Value b, Eval(*e.operands[1], scope));
      return BinaryOp(*this, e.name, a, b);
    }
    case ExprKind::kAnd:
    case ExprKind::kOr: {
      LOOM_ASSIGN_OR_RETURN(Value a, Eval(*e.operands[0], scope));
      // Python returns the deciding operand itself, not a bool.
      if (Truthy(a) == (e.kind == ExprKind::kOr)) return a;
      return Eval(*e.operands[1], scope);
    }
    case ExprKind::kCompare:
      return EvalCompare(e, scope);
    case ExprKind::kConcat: {
      std::string s;
      for (const auto& o : e.operands) {
        LOOM_ASSIGN_OR_RETURN(Value v, Eval(*o, scope));
        s += ToStr(v);
        LOOM_RETURN_IF_ERROR(CheckSize(s.size()));
      }
      return Value::String(std::move(s));
    }
    case ExprKind::kCondExpr: {
      LOOM_ASSIGN_OR_RETURN(Value c, Eval(*e.operands[0], scope));
      if (Truthy(c)) return Eval(*e.operands[1], scope);
      if (e.operands[2]) return Eval(*e.operands[2], scope);
      return Value::Undefined(
          fmt::format("the inline if-expression on line {} evaluated to false "
                      "and no else section was defined.",
                      e.line));
    }
    case ExprKind::kList:
    case ExprKind::kTuple: {
      std::vector<Value> items;
      items.reserve(e.operands.size());
      for (const auto& o : e.operands) {
        LOOM_ASSIGN_OR_RETURN(Value v, Eval(*o, scope));
        items.push_back(std::move(v));
      }
      return Value::List(std::move(items),
                         e.kind == ExprKind::kList ? SeqKind::kList : SeqKind::kTuple);
    }
    case ExprKind::kDict: {
      auto d = std::make_shared<DictData>();
      for (size_t i = 0; i + 1 < e.operands.size(); i += 2) {
        LOOM_ASSIGN_OR_RETURN(Value k, Eval(*e.operands[i], scope));
        LOOM_ASSIGN_OR_RETURN(Value v, Eval(*e.operands[i + 1], scope));
        if (!IsHashable(k)) {
          return InvalidArgument("unhashable type: '{}'", TypeName(k));
        }
        d->Set(std::move(k), std::move(v));
      }
      return Value::Dict(std::move(d));
    }
  }
  return InvalidArgument("unknown expression");
}

}  // namespace loom::jinja
