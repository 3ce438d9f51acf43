#include "frontend/jinja/objects.h"

#include <fmt/core.h>

namespace loom::jinja {

std::optional<Value> Namespace::GetAttr(std::string_view name) {
  const Value* v = attrs_.Find(name);
  if (v == nullptr) return std::nullopt;
  return *v;
}

void Namespace::SetAttr(std::string_view name, Value v) {
  attrs_.Set(Value::String(std::string(name)), std::move(v));
}

std::string Namespace::Repr() const {
  auto d = std::make_shared<DictData>(attrs_);
  return fmt::format("<Namespace {}>", jinja::Repr(Value::Dict(std::move(d))));
}

std::string LoopObject::Repr() const {
  return fmt::format("<LoopContext {}/{}>", index0_ + 1, items_.size());
}

std::optional<Value> LoopObject::GetAttr(std::string_view name) {
  auto n = static_cast<int64_t>(items_.size());
  auto i = static_cast<int64_t>(index0_);
  if (name == "index") return Value::Int(i + 1);
  if (name == "index0") return Value::Int(i);
  if (name == "revindex") return Value::Int(n - i);
  if (name == "revindex0") return Value::Int(n - i - 1);
  if (name == "first") return Value::Bool(i == 0);
  if (name == "last") return Value::Bool(i == n - 1);
  if (name == "length") return Value::Int(n);
  if (name == "depth") return Value::Int(depth0_ + 1);
  if (name == "depth0") return Value::Int(depth0_);
  if (name == "previtem") {
    if (i == 0) return Value::Undefined("there is no previous item");
    return items_[index0_ - 1];
  }
  if (name == "nextitem") {
    if (i == n - 1) return Value::Undefined("there is no next item");
    return items_[index0_ + 1];
  }
  auto self = std::static_pointer_cast<LoopObject>(shared_from_this());
  if (name == "cycle") {
    return Value::MakeFunction("cycle", [self](Interpreter&, CallArgs& args) -> Result<Value> {
      if (args.positional.empty()) return InvalidArgument("no items for cycling given");
      return args.positional[self->index0_ % args.positional.size()];
    });
  }
  if (name == "changed") {
    return Value::MakeFunction("changed", [self](Interpreter&, CallArgs& args) -> Result<Value> {
      const std::vector<Value>& now = args.positional;
      bool same = self->last_changed_.has_value() && self->last_changed_->size() == now.size();
      for (size_t k = 0; same && k < now.size(); ++k) {
        same = Equals((*self->last_changed_)[k], now[k]);
      }
      if (same) return Value::Bool(false);
      self->last_changed_ = now;
      return Value::Bool(true);
    });
  }
  return std::nullopt;
}

Result<std::vector<std::optional<Value>>> BindArgs(std::string_view fn, const CallArgs& args,
                                                   std::initializer_list<std::string_view> params,
                                                   size_t required) {
  std::vector<std::string_view> names(params);
  std::vector<std::optional<Value>> out(names.size());
  if (args.positional.size() > names.size()) {
    return InvalidArgument("{}() takes at most {} argument(s) ({} given)", fn, names.size(),
                           args.positional.size());
  }
  for (size_t i = 0; i < args.positional.size(); ++i) out[i] = args.positional[i];
  for (const auto& [k, v] : args.keywords) {
    size_t i = 0;
    while (i < names.size() && names[i] != k) ++i;
    if (i == names.size()) {
      return InvalidArgument("{}() got an unexpected keyword argument '{}'", fn, k);
    }
    if (out[i]) return InvalidArgument("{}() got multiple values for argument '{}'", fn, k);
    out[i] = v;
  }
  for (size_t i = 0; i < required && i < names.size(); ++i) {
    if (!out[i]) return InvalidArgument("{}() missing required argument '{}'", fn, names[i]);
  }
  return out;
}

}  // namespace loom::jinja
