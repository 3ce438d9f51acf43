// Runtime objects with attributes: namespace(), the `loop` variable, and argument binding for
// native callables.
#pragma once

#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "frontend/jinja/value.h"

namespace loom::jinja {

// jinja2.utils.Namespace: the only object `{% set ns.attr = ... %}` may assign to.
class Namespace : public Object {
 public:
  std::string_view TypeName() const override { return "Namespace"; }
  std::optional<Value> GetAttr(std::string_view name) override;
  std::string Repr() const override;
  void SetAttr(std::string_view name, Value v);
  void Clear() { attrs_.entries.clear(); }

 private:
  DictData attrs_;
};

// jinja2.runtime.LoopContext over a materialised sequence.
class LoopObject : public Object {
 public:
  LoopObject(std::vector<Value> items, int depth0, NativeFn recurse)
      : items_(std::move(items)), depth0_(depth0), recurse_(std::move(recurse)) {}
  std::string_view TypeName() const override { return "LoopContext"; }
  std::optional<Value> GetAttr(std::string_view name) override;
  std::string Repr() const override;
  void SetIndex(size_t i) { index0_ = i; }
  const NativeFn& recurse() const { return recurse_; }

 private:
  std::vector<Value> items_;
  size_t index0_ = 0;
  int depth0_;
  NativeFn recurse_;  // empty unless the loop is `recursive`
  std::optional<std::vector<Value>> last_changed_;
};

// Binds call arguments to a native function's parameters the way Python binds a def:
// positional first, then keywords by name. Result[i] is nullopt when parameter i was not given.
// The first `required` parameters must be given.
Result<std::vector<std::optional<Value>>> BindArgs(std::string_view fn, const CallArgs& args,
                                                   std::initializer_list<std::string_view> params,
                                                   size_t required = 0);

}  // namespace loom::jinja
