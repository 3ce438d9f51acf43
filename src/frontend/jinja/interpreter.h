// Tree-walking evaluator. Scoping follows jinja2's compiled code: every for-loop iteration,
// macro call, caller body, with/filter/set block gets a fresh child scope (so `set` inside them
// never leaks out), `if` does not, and macros resolve free names lexically in their defining
// scope at call time.
#pragma once

#include <ctime>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/status.h"
#include "frontend/jinja/ast.h"
#include "frontend/jinja/template.h"
#include "frontend/jinja/value.h"

namespace loom::jinja {

struct Scope {
  explicit Scope(std::shared_ptr<Scope> p) : parent(std::move(p)) {}
  // Nearest binding of name along the parent chain.
  const Value* Find(std::string_view name) const;
  void Set(std::string_view name, Value v);

  std::shared_ptr<Scope> parent;
  std::vector<std::pair<std::string, Value>> vars;
};
using ScopePtr = std::shared_ptr<Scope>;

class Interpreter {
 public:
  Interpreter(RenderLimits limits, std::optional<std::time_t> now) : limits_(limits), now_(now) {}

  Result<std::string> Render(const StmtList& body, const Value& context);

  // Services for filters, tests, methods and builtins.
  Result<Value> Call(const Value& callee, CallArgs& args);
  // jinja2 sandbox getattr (x.name) and getitem (x[key]): attribute, then item (or the reverse),
  // else an undefined value naming what was missing.
  Result<Value> GetAttr(const Value& obj, std::string_view name);
  Result<Value> GetItem(const Value& obj, const Value& key);
  Result<Value> ApplyFilter(std::string_view name, const Value& input, CallArgs& args);
  Result<bool> ApplyTest(std::string_view name, const Value& input, CallArgs& args);
  // Fails when a string of `bytes` would exceed the output limit.
  Status CheckSize(size_t bytes) const;
  std::time_t Now() const { return now_ ? *now_ : std::time(nullptr); }
  // Namespaces can reference themselves; they are emptied after rendering to break cycles.
  void TrackNamespace(std::shared_ptr<Object> ns) { namespaces_.push_back(std::move(ns)); }

 private:
  enum class Flow { kNormal, kBreak, kContinue };

  Status Step();
  Result<Flow> ExecBody(const StmtList& body, const ScopePtr& scope, std::string& out);
  Result<Flow> Exec(const Stmt& s, const ScopePtr& scope, std::string& out);
  Result<Flow> ExecFor(const Stmt& s, const ScopePtr& scope, std::string& out);
  // Runs one (possibly recursive) for loop; the flow is that of its else block, whose
  // break/continue belong to an enclosing loop.
  Result<Flow> RunLoop(const Stmt& s, const ScopePtr& scope, const Value& iterable, int depth,
                       std::string& out);
  Status ExecCallBlock(const Stmt& s, const ScopePtr& scope, std::string& out);
  Status Assign(const Target& t, const Value& v, const ScopePtr& scope);
  // Applies a {% filter %} / {% set x | f %} chain (innermost filter first) to a block's text.
  Result<Value> ApplyFilterChain(const Expr* chain, Value input, const ScopePtr& scope);
  Status Append(std::string& out, std::string_view text) const;

  // A macro (or caller body) as a callable value closing over its defining scope.
  Value MakeMacro(const std::string& name, const Signature& sig, const StmtList& body,
                  const ScopePtr& closure);
  Result<Value> CallMacro(const std::string& name, const Signature& sig, const StmtList& body,
                          const std::weak_ptr<Scope>& closure, CallArgs& args);

  Result<Value> Eval(const Expr& e, const ScopePtr& scope);
  Result<CallArgs> EvalArgs(const Expr& e, const ScopePtr& scope);
  Result<Value> EvalCompare(const Expr& e, const ScopePtr& scope);
  Result<Value> EvalGetitem(const Expr& e, const ScopePtr& scope);

  RenderLimits limits_;
  std::optional<std::time_t> now_;
  int call_depth_ = 0;
  int64_t steps_ = 0;
  std::vector<std::shared_ptr<Object>> namespaces_;
};

}  // namespace loom::jinja
