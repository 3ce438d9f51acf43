#include "frontend/jinja/builtins.h"

#include <fmt/core.h>

#include <ctime>

#include "frontend/jinja/objects.h"

namespace loom::jinja {
namespace {

// jinja2's sandbox refuses ranges longer than this (sandbox.MAX_RANGE).
constexpr int64_t kMaxRange = 100000;

Result<Value> Range(Interpreter&, CallArgs& args) {
  if (!args.keywords.empty()) {
    return InvalidArgument("safe_range() got an unexpected keyword argument '{}'",
                           args.keywords[0].first);
  }
  const auto& p = args.positional;
  if (p.empty() || p.size() > 3) {
    return InvalidArgument("range expected at most 3 arguments, got {}", p.size());
  }
  for (const Value& v : p) {
    if (!v.is_int() && !v.is_bool()) {
      return InvalidArgument("'{}' object cannot be interpreted as an integer", TypeName(v));
    }
  }
  int64_t start = p.size() == 1 ? 0 : p[0].as_int();
  int64_t stop = p.size() == 1 ? p[0].as_int() : p[1].as_int();
  int64_t step = p.size() == 3 ? p[2].as_int() : 1;
  if (step == 0) return InvalidArgument("range() arg 3 must not be zero");
  // Length computed in long double: start/stop may be near the int64 limits.
  long double span =
      step > 0 ? static_cast<long double>(stop) - start : static_cast<long double>(start) - stop;
  long double len =
      span <= 0 ? 0 : (span + (step > 0 ? step : -step) - 1) / (step > 0 ? step : -step);
  if (len > kMaxRange) {
    return InvalidArgument("Range too big. The sandbox blocks ranges larger than MAX_RANGE ({}).",
                           kMaxRange);
  }
  std::vector<Value> items;
  auto n = static_cast<int64_t>(len);
  items.reserve(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) items.push_back(Value::Int(start + i * step));
  return Value::List(std::move(items));
}

// dict(mapping_or_pairs, **kwargs), as Python's dict constructor (also namespace()'s fields).
Result<std::shared_ptr<DictData>> BuildDict(std::string_view fn, const CallArgs& args) {
  auto d = std::make_shared<DictData>();
  if (args.positional.size() > 1) {
    return InvalidArgument("{} expected at most 1 argument, got {}", fn, args.positional.size());
  }
  if (!args.positional.empty()) {
    const Value& src = args.positional[0];
    if (src.is_dict()) {
      *d = src.dict();
    } else {
      LOOM_ASSIGN_OR_RETURN(std::vector<Value> pairs, Iterate(src));
      for (const Value& pair : pairs) {
        LOOM_ASSIGN_OR_RETURN(std::vector<Value> kv, Iterate(pair));
        if (kv.size() != 2) {
          return InvalidArgument("dictionary update sequence element has length {}; 2 is required",
                                 kv.size());
        }
        d->Set(kv[0], kv[1]);
      }
    }
  }
  for (const auto& [k, v] : args.keywords) d->Set(Value::String(k), v);
  return d;
}

class Cycler : public Object {
 public:
  explicit Cycler(std::vector<Value> items) : items_(std::move(items)) {}
  std::string_view TypeName() const override { return "Cycler"; }
  std::optional<Value> GetAttr(std::string_view name) override {
    auto self = std::static_pointer_cast<Cycler>(shared_from_this());
    if (name == "current") return items_[pos_];
    if (name == "next") {
      return Value::MakeFunction("next", [self](Interpreter&, CallArgs&) -> Result<Value> {
        Value v = self->items_[self->pos_];
        self->pos_ = (self->pos_ + 1) % self->items_.size();
        return v;
      });
    }
    if (name == "reset") {
      return Value::MakeFunction("reset", [self](Interpreter&, CallArgs&) -> Result<Value> {
        self->pos_ = 0;
        return Value::None();
      });
    }
    if (name == "items") return Value::List(items_);
    return std::nullopt;
  }

 private:
  std::vector<Value> items_;
  size_t pos_ = 0;
};

// C strftime after Python's own handling of %f, %z and %Z (a naive datetime has no zone).
std::string PyStrftime(std::string_view format, const std::tm& tm) {
  std::string pre;
  for (size_t i = 0; i < format.size(); ++i) {
    if (format[i] == '%' && i + 1 < format.size()) {
      char d = format[i + 1];
      if (d == 'f') {
        pre += "000000";
        ++i;
        continue;
      }
      if (d == 'z' || d == 'Z') {
        ++i;
        continue;
      }
      pre += format.substr(i, 2);
      ++i;
      continue;
    }
    pre.push_back(format[i]);
  }
  if (pre.empty()) return "";
  std::string out(pre.size() * 8 + 64, '\0');
  size_t n = std::strftime(out.data(), out.size(), pre.c_str(), &tm);
  out.resize(n);
  return out;
}

}  // namespace

void AddGlobals(Scope& scope) {
  scope.Set("range", Value::MakeFunction("range", Range, "<function safe_range>"));
  scope.Set("dict", Value::MakeFunction(
                        "dict",
                        [](Interpreter&, CallArgs& args) -> Result<Value> {
                          LOOM_ASSIGN_OR_RETURN(auto d, BuildDict("dict", args));
                          return Value::Dict(std::move(d));
                        },
                        "<class 'dict'>"));
  scope.Set("namespace", Value::MakeFunction(
                             "namespace",
                             [](Interpreter& in, CallArgs& args) -> Result<Value> {
                               LOOM_ASSIGN_OR_RETURN(auto d, BuildDict("namespace", args));
                               auto ns = std::make_shared<Namespace>();
                               for (auto& [k, v] : d->entries) {
                                 if (!k.is_string()) {
                                   return InvalidArgument("keywords must be strings");
                                 }
                                 ns->SetAttr(k.str(), v);
                               }
                               in.TrackNamespace(ns);
                               return Value::MakeObject(std::move(ns));
                             },
                             "<class 'jinja2.utils.Namespace'>"));
  scope.Set("cycler", Value::MakeFunction(
                          "cycler",
                          [](Interpreter&, CallArgs& args) -> Result<Value> {
                            if (args.positional.empty()) {
                              return InvalidArgument("at least one item has to be provided");
                            }
                            return Value::MakeObject(std::make_shared<Cycler>(args.positional));
                          },
                          "<class 'jinja2.utils.Cycler'>"));
  scope.Set("joiner", Value::MakeFunction(
                          "joiner",
                          [](Interpreter&, CallArgs& args) -> Result<Value> {
                            LOOM_ASSIGN_OR_RETURN(auto bound, BindArgs("joiner", args, {"sep"}));
                            std::string sep = bound[0] ? ToStr(*bound[0]) : ", ";
                            auto used = std::make_shared<bool>(false);
                            return Value::MakeFunction(
                                "joiner", [sep, used](Interpreter&, CallArgs&) -> Result<Value> {
                                  if (!*used) {
                                    *used = true;
                                    return Value::String("");
                                  }
                                  return Value::String(sep);
                                });
                          },
                          "<class 'jinja2.utils.Joiner'>"));
  // transformers: raise_exception(message) raises TemplateError(message).
  scope.Set(
      "raise_exception",
      Value::MakeFunction("raise_exception", [](Interpreter&, CallArgs& args) -> Result<Value> {
        LOOM_ASSIGN_OR_RETURN(auto bound, BindArgs("raise_exception", args, {"message"}, 1));
        return Status(StatusCode::kInvalidArgument, ToStr(*bound[0]));
      }));
  // transformers: strftime_now(format) = datetime.now().strftime(format), local time.
  scope.Set(
      "strftime_now",
      Value::MakeFunction("strftime_now", [](Interpreter& in, CallArgs& args) -> Result<Value> {
        LOOM_ASSIGN_OR_RETURN(auto bound, BindArgs("strftime_now", args, {"format"}, 1));
        if (!bound[0]->is_string()) {
          return InvalidArgument("strftime() argument 1 must be str, not {}", TypeName(*bound[0]));
        }
        std::time_t now = in.Now();
        std::tm tm{};
        localtime_r(&now, &tm);
        return Value::String(PyStrftime(bound[0]->str(), tm));
      }));
}

}  // namespace loom::jinja
