// The runtime values of the Jinja interpreter, with Python's semantics: templates were written
// against jinja2, so truthiness, equality, ordering, str() and repr() follow Python exactly.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/status.h"

namespace loom::jinja {

class Value;
class Interpreter;

// Arguments of a call, filter or test: Python's positional and keyword arguments.
struct CallArgs {
  std::vector<Value> positional;
  std::vector<std::pair<std::string, Value>> keywords;
};

// Why a value is undefined: the message jinja2 raises when the value is used (attribute access,
// call, arithmetic). Rendering, truth tests and iteration of an undefined value do not fail.
struct UndefinedInfo {
  std::string message;
};

// A Python list, tuple, dict view (dict.keys()/values()/items(): iterable and sized but not
// subscriptable), or a single-pass iterator (what select/map/reverse return in jinja2: always
// truthy, no len(), exhausted after one iteration).
enum class SeqKind : uint8_t { kList, kTuple, kIterator, kDictKeys, kDictValues, kDictItems };

struct ListData {
  std::vector<Value> items;
  SeqKind kind = SeqKind::kList;
  size_t consumed = 0;  // kIterator: items already yielded
};

// A Python dict: insertion-ordered, keys compared with Python ==.
struct DictData {
  std::vector<std::pair<Value, Value>> entries;

  const Value* Find(const Value& key) const;
  const Value* Find(std::string_view key) const;
  void Set(Value key, Value value);
  // Python dict.pop; false when the key is absent.
  bool Erase(const Value& key, Value* removed);
};

// Objects with attributes: namespace(), the loop variable, cycler, joiner.
class Object : public std::enable_shared_from_this<Object> {
 public:
  virtual ~Object() = default;
  virtual std::string_view TypeName() const = 0;
  // Python getattr(); nullopt when there is no such attribute.
  virtual std::optional<Value> GetAttr(std::string_view name) = 0;
  virtual std::string Repr() const;
};

// Anything callable: macros, builtins, bound methods.
using NativeFn = std::function<Result<Value>(Interpreter&, CallArgs&)>;
struct Function {
  std::string name;
  NativeFn fn;
  std::string repr;  // how {{ fn }} renders
};

class Value {
 public:
  enum class Kind : uint8_t {
    kUndefined,
    kNone,
    kBool,
    kInt,
    kFloat,
    kString,
    kList,
    kDict,
    kObject,
    kFunction
  };

  Value() = default;  // undefined, with jinja2's generic message
  static Value Undefined(std::string message);
  static Value None();
  static Value Bool(bool b);
  static Value Int(int64_t i);
  static Value Float(double f);
  // markup: a markupsafe.Markup string (from |safe / |escape); `+` escapes plain operands.
  static Value String(std::string s, bool markup = false);
  static Value List(std::vector<Value> items, SeqKind kind = SeqKind::kList);
  static Value Dict(std::shared_ptr<DictData> dict);
  static Value NewDict() { return Dict(std::make_shared<DictData>()); }
  static Value MakeObject(std::shared_ptr<Object> obj);
  static Value MakeFunction(std::string name, NativeFn fn, std::string repr = "");

  Kind kind() const { return kind_; }
  bool is_undefined() const { return kind_ == Kind::kUndefined; }
  bool is_none() const { return kind_ == Kind::kNone; }
  bool is_bool() const { return kind_ == Kind::kBool; }
  bool is_int() const { return kind_ == Kind::kInt; }
  bool is_float() const { return kind_ == Kind::kFloat; }
  // Python numbers include bool.
  bool is_number() const { return is_int() || is_float() || is_bool(); }
  bool is_string() const { return kind_ == Kind::kString; }
  bool is_list() const { return kind_ == Kind::kList; }
  bool is_dict() const { return kind_ == Kind::kDict; }
  bool is_object() const { return kind_ == Kind::kObject; }
  bool is_function() const { return kind_ == Kind::kFunction; }
  bool is_markup() const { return kind_ == Kind::kString && markup_; }
  // Python list or tuple (not an iterator).
  bool is_sequence() const {
    return is_list() && (list().kind == SeqKind::kList || list().kind == SeqKind::kTuple);
  }
  bool is_iterator() const { return is_list() && list().kind == SeqKind::kIterator; }

  bool as_bool() const { return b_; }
  int64_t as_int() const { return kind_ == Kind::kBool ? (b_ ? 1 : 0) : i_; }
  double as_float() const { return kind_ == Kind::kFloat ? f_ : static_cast<double>(as_int()); }
  const std::string& str() const { return *static_cast<const std::string*>(ptr_.get()); }
  ListData& list() const { return *static_cast<ListData*>(ptr_.get()); }
  DictData& dict() const { return *static_cast<DictData*>(ptr_.get()); }
  Object& object() const { return *static_cast<Object*>(ptr_.get()); }
  std::shared_ptr<Object> object_ptr() const { return std::static_pointer_cast<Object>(ptr_); }
  const Function& function() const { return *static_cast<const Function*>(ptr_.get()); }
  // The message raised when an undefined value is used.
  std::string undefined_message() const;
  // Identity of the heap object, for Python's `is` (sameas).
  const void* identity() const { return ptr_.get(); }

 private:
  Kind kind_ = Kind::kUndefined;
  bool markup_ = false;
  union {
    bool b_;
    int64_t i_ = 0;
    double f_;
  };
  std::shared_ptr<void> ptr_;
};

// Python truthiness.
bool Truthy(const Value& v);
// Whether Python can hash v (dict keys, `in` on a dict, |unique): not lists, dicts or dict views.
bool IsHashable(const Value& v);
// Python ==.
bool Equals(const Value& a, const Value& b);
// Python a < b; TypeError for unorderable operands.
Result<bool> Less(const Value& a, const Value& b);
// Python's type name: str, int, float, bool, NoneType, list, tuple, dict, ...
std::string TypeName(const Value& v);
// jinja2's object_type_repr: "dict object", "None", ...
std::string ObjectTypeRepr(const Value& v);
// Python str() (what {{ v }} prints) and repr().
std::string ToStr(const Value& v);
std::string Repr(const Value& v);
// Python repr() of a float ("1.0", "1e-05", "inf").
std::string FloatRepr(double d);
// Python repr() of a str.
std::string StrRepr(std::string_view s);
// markupsafe.escape of a plain string.
std::string HtmlEscape(std::string_view s);

// The items `for x in v` visits (dict keys, string characters; undefined is empty). Consumes
// an iterator.
Result<std::vector<Value>> Iterate(const Value& v);
// Python len().
Result<int64_t> Length(const Value& v);
// Python `needle in haystack`.
Result<bool> Contains(const Value& haystack, const Value& needle);

}  // namespace loom::jinja
