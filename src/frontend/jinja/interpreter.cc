// Statement execution, scopes, loops and macro calls.
#include "frontend/jinja/interpreter.h"

#include <fmt/core.h>

#include "frontend/jinja/builtins.h"
#include "frontend/jinja/objects.h"

namespace loom::jinja {

const Value* Scope::Find(std::string_view name) const {
  for (const Scope* s = this; s != nullptr; s = s->parent.get()) {
    for (const auto& [k, v] : s->vars) {
      if (k == name) return &v;
    }
  }
  return nullptr;
}

void Scope::Set(std::string_view name, Value v) {
  for (auto& [k, old] : vars) {
    if (k == name) {
      old = std::move(v);
      return;
    }
  }
  vars.emplace_back(std::string(name), std::move(v));
}

Status Interpreter::Step() {
  if (++steps_ > limits_.max_steps) {
    return InvalidArgument("template exceeded the evaluation budget of {} steps",
                           limits_.max_steps);
  }
  return Status::Ok();
}

Status Interpreter::CheckSize(size_t bytes) const {
  if (bytes > limits_.max_output_bytes) {
    return InvalidArgument("template output exceeds the limit of {} bytes",
                           limits_.max_output_bytes);
  }
  return Status::Ok();
}

Status Interpreter::Append(std::string& out, std::string_view text) const {
  LOOM_RETURN_IF_ERROR(CheckSize(out.size() + text.size()));
  out.append(text);
  return Status::Ok();
}

Result<std::string> Interpreter::Render(const StmtList& body, const Value& context) {
  auto globals = std::make_shared<Scope>(nullptr);
  AddGlobals(*globals);
  // Top-level `set` writes into the same scope the render arguments live in, as jinja2's
  // context does.
  auto root = std::make_shared<Scope>(globals);
  if (context.is_dict()) {
    for (const auto& [k, v] : context.dict().entries) {
      if (k.is_string()) root->Set(k.str(), v);
    }
  }
  std::string out;
  Result<Flow> flow = ExecBody(body, root, out);
  for (const auto& ns : namespaces_) static_cast<Namespace*>(ns.get())->Clear();
  namespaces_.clear();
  if (!flow.ok()) return flow.status();
  return out;
}

Result<Interpreter::Flow> Interpreter::ExecBody(const StmtList& body, const ScopePtr& scope,
                                                std::string& out) {
  for (const auto& s : body) {
    LOOM_ASSIGN_OR_RETURN(Flow f, Exec(*s, scope, out));
    if (f != Flow::kNormal) return f;
  }
  return Flow::kNormal;
}

Result<Interpreter::Flow> Interpreter::Exec(const Stmt& s, const ScopePtr& scope,
                                            std::string& out) {
  LOOM_RETURN_IF_ERROR(Step());
  switch (s.kind) {
    case StmtKind::kData:
      LOOM_RETURN_IF_ERROR(Append(out, s.text));
      return Flow::kNormal;
    case StmtKind::kOutput:
      for (const auto& e : s.exprs) {
        LOOM_ASSIGN_OR_RETURN(Value v, Eval(*e, scope));
        LOOM_RETURN_IF_ERROR(Append(out, ToStr(v)));
      }
      return Flow::kNormal;
    case StmtKind::kIf:
      for (size_t i = 0; i < s.exprs.size(); ++i) {
        LOOM_ASSIGN_OR_RETURN(Value test, Eval(*s.exprs[i], scope));
        if (Truthy(test)) return ExecBody(s.bodies[i], scope, out);
      }
      return ExecBody(s.else_body, scope, out);
    case StmtKind::kFor:
      return ExecFor(s, scope, out);
    case StmtKind::kSet: {
      LOOM_ASSIGN_OR_RETURN(Value v, Eval(*s.expr, scope));
      LOOM_RETURN_IF_ERROR(Assign(s.target, v, scope));
      return Flow::kNormal;
    }
    case StmtKind::kSetBlock: {
      std::string buf;
      // break/continue inside the block leave the enclosing loop before anything is assigned.
      LOOM_ASSIGN_OR_RETURN(Flow f, ExecBody(s.body, std::make_shared<Scope>(scope), buf));
      if (f != Flow::kNormal) return f;
      LOOM_ASSIGN_OR_RETURN(Value v,
                            ApplyFilterChain(s.expr.get(), Value::String(std::move(buf)), scope));
      LOOM_RETURN_IF_ERROR(Assign(s.target, v, scope));
      return Flow::kNormal;
    }
    case StmtKind::kMacro:
      scope->Set(s.name, MakeMacro(s.name, *s.signature, s.body, scope));
      return Flow::kNormal;
    case StmtKind::kCallBlock:
      LOOM_RETURN_IF_ERROR(ExecCallBlock(s, scope, out));
      return Flow::kNormal;
    case StmtKind::kFilterBlock: {
      std::string buf;
      LOOM_ASSIGN_OR_RETURN(Flow f, ExecBody(s.body, std::make_shared<Scope>(scope), buf));
      if (f != Flow::kNormal) return f;  // jinja2 drops the buffered block output then
      LOOM_ASSIGN_OR_RETURN(Value v,
                            ApplyFilterChain(s.expr.get(), Value::String(std::move(buf)), scope));
      LOOM_RETURN_IF_ERROR(Append(out, ToStr(v)));
      return Flow::kNormal;
    }
    case StmtKind::kWith: {
      auto inner = std::make_shared<Scope>(scope);
      for (size_t i = 0; i < s.targets.size(); ++i) {
        LOOM_ASSIGN_OR_RETURN(Value v, Eval(*s.exprs[i], scope));
        LOOM_RETURN_IF_ERROR(Assign(s.targets[i], v, inner));
      }
      return ExecBody(s.body, inner, out);
    }
    case StmtKind::kBreak:
      return Flow::kBreak;
    case StmtKind::kContinue:
      return Flow::kContinue;
  }
  return Flow::kNormal;
}

Result<Value> Interpreter::ApplyFilterChain(const Expr* chain, Value input, const ScopePtr& scope) {
  // The chain is nested innermost-first; its innermost filter takes the block body.
  std::vector<const Expr*> filters;
  for (const Expr* f = chain; f != nullptr; f = f->operands[0].get()) filters.push_back(f);
  for (auto it = filters.rbegin(); it != filters.rend(); ++it) {
    LOOM_ASSIGN_OR_RETURN(CallArgs args, EvalArgs(**it, scope));
    LOOM_ASSIGN_OR_RETURN(input, ApplyFilter((*it)->name, input, args));
  }
  return input;
}

Status Interpreter::Assign(const Target& t, const Value& v, const ScopePtr& scope) {
  switch (t.kind) {
    case Target::Kind::kName:
      scope->Set(t.name, v);
      return Status::Ok();
    case Target::Kind::kNamespaceAttr: {
      const Value* ns = scope->Find(t.name);
      if (ns == nullptr) return InvalidArgument("'{}' is undefined", t.name);
      if (!ns->is_object() || ns->object().TypeName() != "Namespace") {
        return InvalidArgument("cannot assign attribute on non-namespace object");
      }
      static_cast<Namespace&>(ns->object()).SetAttr(t.attr, v);
      return Status::Ok();
    }
    case Target::Kind::kTuple: {
      if (v.is_undefined()) return InvalidArgument("{}", v.undefined_message());
      LOOM_ASSIGN_OR_RETURN(std::vector<Value> items, Iterate(v));
      if (items.size() < t.items.size()) {
        return InvalidArgument("not enough values to unpack (expected {}, got {})", t.items.size(),
                               items.size());
      }
      if (items.size() > t.items.size()) {
        return InvalidArgument("too many values to unpack (expected {})", t.items.size());
      }
      for (size_t i = 0; i < items.size(); ++i) {
        LOOM_RETURN_IF_ERROR(Assign(t.items[i], items[i], scope));
      }
      return Status::Ok();
    }
  }
  return Status::Ok();
}

Result<Interpreter::Flow> Interpreter::ExecFor(const Stmt& s, const ScopePtr& scope,
                                               std::string& out) {
  LOOM_ASSIGN_OR_RETURN(Value iterable, Eval(*s.expr, scope));
  return RunLoop(s, scope, iterable, 0, out);
}

Result<Interpreter::Flow> Interpreter::RunLoop(const Stmt& s, const ScopePtr& scope,
                                               const Value& iterable, int depth, std::string& out) {
  LOOM_ASSIGN_OR_RETURN(std::vector<Value> all, Iterate(iterable));
  std::vector<Value> items;
  if (s.condition) {
    // The inline `if` filters before the loop starts, so loop.length counts kept items only.
    for (Value& item : all) {
      auto probe = std::make_shared<Scope>(scope);
      LOOM_RETURN_IF_ERROR(Assign(s.target, item, probe));
      LOOM_ASSIGN_OR_RETURN(Value keep, Eval(*s.condition, probe));
      if (Truthy(keep)) items.push_back(std::move(item));
    }
  } else {
    items = std::move(all);
  }
  NativeFn recurse;
  if (s.recursive) {
    std::weak_ptr<Scope> weak = scope;
    const Stmt* stmt = &s;
    recurse = [stmt, weak, depth](Interpreter& in, CallArgs& args) -> Result<Value> {
      if (args.positional.size() != 1 || !args.keywords.empty()) {
        return InvalidArgument("loop() takes exactly one argument");
      }
      ScopePtr sc = weak.lock();
      if (!sc) return InvalidArgument("recursive loop called outside its loop");
      if (++in.call_depth_ > in.limits_.max_call_depth) {
        --in.call_depth_;
        return InvalidArgument("maximum recursion depth exceeded ({} nested calls)",
                               in.limits_.max_call_depth);
      }
      std::string buf;
      Status st = in.RunLoop(*stmt, sc, args.positional[0], depth + 1, buf).status();
      --in.call_depth_;
      LOOM_RETURN_IF_ERROR(st);
      return Value::String(std::move(buf));
    };
  }
  auto loop = std::make_shared<LoopObject>(items, depth, std::move(recurse));
  Value loop_value = Value::MakeObject(loop);
  // jinja2 clears its "run the else block" flag at the end of the loop body, so the else block
  // also runs when every iteration left early through break or continue.
  bool body_completed = false;
  for (size_t i = 0; i < items.size(); ++i) {
    LOOM_RETURN_IF_ERROR(Step());  // an empty body must still spend budget per iteration
    loop->SetIndex(i);
    auto iter_scope = std::make_shared<Scope>(scope);
    LOOM_RETURN_IF_ERROR(Assign(s.target, items[i], iter_scope));
    iter_scope->Set("loop", loop_value);
    LOOM_ASSIGN_OR_RETURN(Flow f, ExecBody(s.body, iter_scope, out));
    if (f == Flow::kBreak) break;
    if (f == Flow::kNormal) body_completed = true;
  }
  if (!body_completed && !s.else_body.empty()) {
    // break/continue in the else block belong to an enclosing loop.
    return ExecBody(s.else_body, std::make_shared<Scope>(scope), out);
  }
  return Flow::kNormal;
}

Value Interpreter::MakeMacro(const std::string& name, const Signature& sig, const StmtList& body,
                             const ScopePtr& closure) {
  // A weak closure: a macro stored in the scope it closes over must not keep that scope alive.
  std::weak_ptr<Scope> weak = closure;
  const Signature* sig_ptr = &sig;
  const StmtList* body_ptr = &body;
  return Value::MakeFunction(
      name,
      [name, sig_ptr, body_ptr, weak](Interpreter& in, CallArgs& args) {
        return in.CallMacro(name, *sig_ptr, *body_ptr, weak, args);
      },
      fmt::format("<Macro '{}'>", name));
}

Result<Value> Interpreter::CallMacro(const std::string& name, const Signature& sig,
                                     const StmtList& body, const std::weak_ptr<Scope>& closure,
                                     CallArgs& args) {
  ScopePtr parent = closure.lock();
  if (!parent) return InvalidArgument("macro '{}' called after its scope ended", name);
  if (call_depth_ + 1 > limits_.max_call_depth) {
    return InvalidArgument("maximum recursion depth exceeded ({} nested macro calls)",
                           limits_.max_call_depth);
  }
  auto scope = std::make_shared<Scope>(parent);
  size_t n = sig.params.size();
  size_t first_default = n - sig.defaults.size();
  std::vector<std::pair<std::string, Value>> kwargs = args.keywords;
  std::optional<Value> caller;
  for (size_t i = 0; i < n; ++i) {
    const std::string& p = sig.params[i];
    if (i < args.positional.size()) {
      scope->Set(p, args.positional[i]);
      continue;
    }
    bool found = false;
    for (size_t k = 0; k < kwargs.size(); ++k) {
      if (kwargs[k].first == p) {
        scope->Set(p, kwargs[k].second);
        kwargs.erase(kwargs.begin() + static_cast<std::ptrdiff_t>(k));
        found = true;
        break;
      }
    }
    if (found) continue;
    if (i >= first_default) {
      // Defaults are evaluated at call time in the macro's scope (they may use earlier params).
      LOOM_ASSIGN_OR_RETURN(Value d, Eval(*sig.defaults[i - first_default], scope));
      scope->Set(p, d);
    } else {
      scope->Set(p, Value::Undefined(fmt::format("parameter '{}' was not provided", p)));
    }
  }
  if (sig.uses_caller) {
    Value c = Value::Undefined("No caller defined");
    for (size_t k = 0; k < kwargs.size(); ++k) {
      if (kwargs[k].first == "caller") {
        c = kwargs[k].second;
        kwargs.erase(kwargs.begin() + static_cast<std::ptrdiff_t>(k));
        break;
      }
    }
    scope->Set("caller", c);
  }
  if (sig.uses_kwargs) {
    auto d = std::make_shared<DictData>();
    for (auto& [k, v] : kwargs) d->Set(Value::String(k), v);
    scope->Set("kwargs", Value::Dict(std::move(d)));
  } else if (!kwargs.empty()) {
    if (kwargs[0].first == "caller") {
      return InvalidArgument(
          "macro '{}' was invoked with two values for the special caller "
          "argument. This is most likely a bug.",
          name);
    }
    return InvalidArgument("macro '{}' takes no keyword argument '{}'", name, kwargs[0].first);
  }
  if (sig.uses_varargs) {
    std::vector<Value> extra;
    for (size_t i = n; i < args.positional.size(); ++i) extra.push_back(args.positional[i]);
    scope->Set("varargs", Value::List(std::move(extra), SeqKind::kTuple));
  } else if (args.positional.size() > n) {
    return InvalidArgument("macro '{}' takes not more than {} argument(s)", name, n);
  }
  ++call_depth_;
  std::string out;
  Result<Flow> flow = ExecBody(body, scope, out);
  --call_depth_;
  if (!flow.ok()) return flow.status();
  return Value::String(std::move(out));
}

Status Interpreter::ExecCallBlock(const Stmt& s, const ScopePtr& scope, std::string& out) {
  Value caller = MakeMacro("caller", *s.signature, s.body, scope);
  if (s.expr == nullptr) {
    // {% generation %}: the body rendered as caller().
    CallArgs none;
    LOOM_ASSIGN_OR_RETURN(Value v, Call(caller, none));
    return Append(out, ToStr(v));
  }
  const Expr& call = *s.expr;
  LOOM_ASSIGN_OR_RETURN(Value callee, Eval(*call.operands[0], scope));
  LOOM_ASSIGN_OR_RETURN(CallArgs args, EvalArgs(call, scope));
  args.keywords.emplace_back("caller", caller);
  LOOM_ASSIGN_OR_RETURN(Value v, Call(callee, args));
  return Append(out, ToStr(v));
}

Result<Value> Interpreter::Call(const Value& callee, CallArgs& args) {
  LOOM_RETURN_IF_ERROR(Step());
  switch (callee.kind()) {
    case Value::Kind::kFunction:
      return callee.function().fn(*this, args);
    case Value::Kind::kUndefined:
      return InvalidArgument("{}", callee.undefined_message());
    case Value::Kind::kObject:
      if (callee.object().TypeName() == "LoopContext") {
        const NativeFn& recurse = static_cast<LoopObject&>(callee.object()).recurse();
        if (!recurse) {
          return InvalidArgument(
              "The loop must have the 'recursive' marker to be called recursively.");
        }
        return recurse(*this, args);
      }
      break;
    default:
      break;
  }
  return InvalidArgument("'{}' object is not callable", TypeName(callee));
}

}  // namespace loom::jinja
