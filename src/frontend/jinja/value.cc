#include "frontend/jinja/value.h"

#include <fmt/core.h>

#include <charconv>
#include <cmath>

#include "frontend/jinja/unicode.h"

namespace loom::jinja {

Value Value::Undefined(std::string message) {
  Value v;
  v.ptr_ = std::make_shared<UndefinedInfo>(UndefinedInfo{std::move(message)});
  return v;
}

Value Value::None() {
  Value v;
  v.kind_ = Kind::kNone;
  return v;
}

Value Value::Bool(bool b) {
  Value v;
  v.kind_ = Kind::kBool;
  v.b_ = b;
  return v;
}

Value Value::Int(int64_t i) {
  Value v;
  v.kind_ = Kind::kInt;
  v.i_ = i;
  return v;
}

Value Value::Float(double f) {
  Value v;
  v.kind_ = Kind::kFloat;
  v.f_ = f;
  return v;
}

Value Value::String(std::string s, bool markup) {
  Value v;
  v.kind_ = Kind::kString;
  v.markup_ = markup;
  v.ptr_ = std::make_shared<std::string>(std::move(s));
  return v;
}

Value Value::List(std::vector<Value> items, SeqKind kind) {
  Value v;
  v.kind_ = Kind::kList;
  auto data = std::make_shared<ListData>();
  data->items = std::move(items);
  data->kind = kind;
  v.ptr_ = std::move(data);
  return v;
}

Value Value::Dict(std::shared_ptr<DictData> dict) {
  Value v;
  v.kind_ = Kind::kDict;
  v.ptr_ = std::move(dict);
  return v;
}

Value Value::MakeObject(std::shared_ptr<Object> obj) {
  Value v;
  v.kind_ = Kind::kObject;
  v.ptr_ = std::move(obj);
  return v;
}

Value Value::MakeFunction(std::string name, NativeFn fn, std::string repr) {
  Value v;
  v.kind_ = Kind::kFunction;
  if (repr.empty()) repr = fmt::format("<function {}>", name);
  v.ptr_ = std::make_shared<Function>(Function{std::move(name), std::move(fn), std::move(repr)});
  return v;
}

std::string Value::undefined_message() const {
  if (ptr_ == nullptr) return "None is undefined";
  return static_cast<const UndefinedInfo*>(ptr_.get())->message;
}

std::string Object::Repr() const { return fmt::format("<{} object>", TypeName()); }

const Value* DictData::Find(const Value& key) const {
  for (const auto& [k, v] : entries) {
    if (Equals(k, key)) return &v;
  }
  return nullptr;
}

const Value* DictData::Find(std::string_view key) const {
  for (const auto& [k, v] : entries) {
    if (k.is_string() && k.str() == key) return &v;
  }
  return nullptr;
}

void DictData::Set(Value key, Value value) {
  for (auto& [k, v] : entries) {
    if (Equals(k, key)) {
      v = std::move(value);
      return;
    }
  }
  entries.emplace_back(std::move(key), std::move(value));
}

bool DictData::Erase(const Value& key, Value* removed) {
  for (size_t i = 0; i < entries.size(); ++i) {
    if (Equals(entries[i].first, key)) {
      if (removed != nullptr) *removed = entries[i].second;
      entries.erase(entries.begin() + static_cast<std::ptrdiff_t>(i));
      return true;
    }
  }
  return false;
}

bool Truthy(const Value& v) {
  switch (v.kind()) {
    case Value::Kind::kUndefined:
    case Value::Kind::kNone:
      return false;
    case Value::Kind::kBool:
      return v.as_bool();
    case Value::Kind::kInt:
      return v.as_int() != 0;
    case Value::Kind::kFloat:
      return v.as_float() != 0.0;
    case Value::Kind::kString:
      return !v.str().empty();
    case Value::Kind::kList:
      return v.is_iterator() || !v.list().items.empty();
    case Value::Kind::kDict:
      return !v.dict().entries.empty();
    case Value::Kind::kObject:
    case Value::Kind::kFunction:
      return true;
  }
  return false;
}

bool IsHashable(const Value& v) {
  if (v.is_dict()) return false;
  if (!v.is_list()) return true;
  SeqKind k = v.list().kind;
  if (k == SeqKind::kTuple) {
    for (const Value& item : v.list().items) {
      if (!IsHashable(item)) return false;
    }
    return true;
  }
  return k == SeqKind::kIterator;
}

bool Equals(const Value& a, const Value& b) {
  if (a.is_number() && b.is_number()) {
    if (a.is_float() || b.is_float()) return a.as_float() == b.as_float();
    return a.as_int() == b.as_int();
  }
  if (a.kind() != b.kind()) return false;
  switch (a.kind()) {
    case Value::Kind::kUndefined:
    case Value::Kind::kNone:
      return true;
    case Value::Kind::kString:
      return a.str() == b.str();
    case Value::Kind::kList: {
      const ListData& x = a.list();
      const ListData& y = b.list();
      if (x.kind == SeqKind::kIterator || y.kind == SeqKind::kIterator) {
        return a.identity() == b.identity();
      }
      if (x.kind != y.kind || x.items.size() != y.items.size()) return false;
      for (size_t i = 0; i < x.items.size(); ++i) {
        if (!Equals(x.items[i], y.items[i])) return false;
      }
      return true;
    }
    case Value::Kind::kDict: {
      const DictData& x = a.dict();
      const DictData& y = b.dict();
      if (x.entries.size() != y.entries.size()) return false;
      for (const auto& [k, v] : x.entries) {
        const Value* other = y.Find(k);
        if (other == nullptr || !Equals(v, *other)) return false;
      }
      return true;
    }
    default:
      return a.identity() == b.identity();
  }
}

Result<bool> Less(const Value& a, const Value& b) {
  if (a.is_number() && b.is_number()) {
    if (a.is_float() || b.is_float()) return a.as_float() < b.as_float();
    return a.as_int() < b.as_int();
  }
  if (a.is_string() && b.is_string()) return a.str() < b.str();
  if (a.is_sequence() && b.is_sequence() && a.list().kind == b.list().kind) {
    const auto& x = a.list().items;
    const auto& y = b.list().items;
    for (size_t i = 0; i < x.size() && i < y.size(); ++i) {
      if (Equals(x[i], y[i])) continue;
      return Less(x[i], y[i]);
    }
    return x.size() < y.size();
  }
  if (a.is_undefined() || b.is_undefined()) {
    return InvalidArgument("{}", (a.is_undefined() ? a : b).undefined_message());
  }
  return InvalidArgument("'<' not supported between instances of '{}' and '{}'", TypeName(a),
                         TypeName(b));
}

std::string TypeName(const Value& v) {
  switch (v.kind()) {
    case Value::Kind::kUndefined:
      return "Undefined";
    case Value::Kind::kNone:
      return "NoneType";
    case Value::Kind::kBool:
      return "bool";
    case Value::Kind::kInt:
      return "int";
    case Value::Kind::kFloat:
      return "float";
    case Value::Kind::kString:
      return v.is_markup() ? "Markup" : "str";
    case Value::Kind::kList:
      switch (v.list().kind) {
        case SeqKind::kList:
          return "list";
        case SeqKind::kTuple:
          return "tuple";
        case SeqKind::kIterator:
          return "generator";
        case SeqKind::kDictKeys:
          return "dict_keys";
        case SeqKind::kDictValues:
          return "dict_values";
        case SeqKind::kDictItems:
          return "dict_items";
      }
      return "list";
    case Value::Kind::kDict:
      return "dict";
    case Value::Kind::kObject:
      return std::string(v.object().TypeName());
    case Value::Kind::kFunction:
      return "function";
  }
  return "object";
}

std::string ObjectTypeRepr(const Value& v) {
  if (v.is_none()) return "None";
  return TypeName(v) + " object";
}

std::string FloatRepr(double d) {
  if (std::isnan(d)) return "nan";
  if (std::isinf(d)) return d > 0 ? "inf" : "-inf";
  if (d == 0) return std::signbit(d) ? "-0.0" : "0.0";
  char buf[64];
  // Shortest digits that round-trip, as Python's repr chooses them.
  auto res = std::to_chars(buf, buf + sizeof(buf), d, std::chars_format::scientific);
  std::string s(buf, res.ptr);
  std::string out;
  if (s[0] == '-') {
    out.push_back('-');
    s.erase(0, 1);
  }
  size_t epos = s.find('e');
  int exp = std::stoi(s.substr(epos + 1));
  std::string digits;
  for (char c : s.substr(0, epos)) {
    if (c != '.') digits.push_back(c);
  }
  int decpt = exp + 1;  // value = 0.DIGITS * 10^decpt
  int n = static_cast<int>(digits.size());
  if (decpt > -4 && decpt <= 16) {
    if (decpt <= 0) {
      out.append("0.");
      out.append(static_cast<size_t>(-decpt), '0');
      out.append(digits);
    } else if (decpt >= n) {
      out.append(digits);
      out.append(static_cast<size_t>(decpt - n), '0');
      out.append(".0");
    } else {
      out.append(digits, 0, decpt);
      out.push_back('.');
      out.append(digits, decpt);
    }
  } else {
    out += digits.substr(0, 1);
    if (n > 1) {
      out.push_back('.');
      out.append(digits, 1);
    }
    out += fmt::format("e{}{:02d}", exp < 0 ? '-' : '+', exp < 0 ? -exp : exp);
  }
  return out;
}

std::string StrRepr(std::string_view s) {
  std::u32string cps = DecodeUtf8(s);
  bool has_single = false;
  bool has_double = false;
  for (char32_t c : cps) {
    has_single |= c == U'\'';
    has_double |= c == U'"';
  }
  char32_t quote = (has_single && !has_double) ? U'"' : U'\'';
  std::string out;
  AppendUtf8(out, quote);
  for (char32_t c : cps) {
    if (c == quote || c == U'\\') {
      out.push_back('\\');
      AppendUtf8(out, c);
    } else if (c == U'\n') {
      out += "\\n";
    } else if (c == U'\r') {
      out += "\\r";
    } else if (c == U'\t') {
      out += "\\t";
    } else if (c >= 0xDC80 && c <= 0xDCFF) {
      out += fmt::format("\\udc{:02x}", static_cast<unsigned>(c - 0xDC00));
    } else if (!IsPrintable(c)) {
      if (c < 0x100) {
        out += fmt::format("\\x{:02x}", static_cast<unsigned>(c));
      } else if (c < 0x10000) {
        out += fmt::format("\\u{:04x}", static_cast<unsigned>(c));
      } else {
        out += fmt::format("\\U{:08x}", static_cast<unsigned>(c));
      }
    } else {
      AppendUtf8(out, c);
    }
  }
  AppendUtf8(out, quote);
  return out;
}

std::string HtmlEscape(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&#34;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out.push_back(c);
    }
  }
  return out;
}

namespace {

void AppendRepr(const Value& v, std::string& out, int depth) {
  if (depth > 200) {  // Python would hit its recursion limit; never overflow the C++ stack
    out += "...";
    return;
  }
  switch (v.kind()) {
    case Value::Kind::kUndefined:
      out += "Undefined";
      return;
    case Value::Kind::kString:
      if (v.is_markup()) {
        out += "Markup(" + StrRepr(v.str()) + ")";
      } else {
        out += StrRepr(v.str());
      }
      return;
    case Value::Kind::kList: {
      const ListData& l = v.list();
      if (l.kind == SeqKind::kIterator) {
        out += "<generator object>";
        return;
      }
      bool view = !v.is_sequence();
      if (view) out += TypeName(v) + "(";
      out += l.kind == SeqKind::kTuple ? "(" : "[";
      for (size_t i = 0; i < l.items.size(); ++i) {
        if (i > 0) out += ", ";
        AppendRepr(l.items[i], out, depth + 1);
      }
      if (l.kind == SeqKind::kTuple && l.items.size() == 1) out += ",";
      out += l.kind == SeqKind::kTuple ? ")" : "]";
      if (view) out += ")";
      return;
    }
    case Value::Kind::kDict: {
      out += "{";
      bool first = true;
      for (const auto& [k, val] : v.dict().entries) {
        if (!first) out += ", ";
        first = false;
        AppendRepr(k, out, depth + 1);
        out += ": ";
        AppendRepr(val, out, depth + 1);
      }
      out += "}";
      return;
    }
    default:
      out += ToStr(v);
  }
}

}  // namespace

std::string ToStr(const Value& v) {
  switch (v.kind()) {
    case Value::Kind::kUndefined:
      return "";
    case Value::Kind::kNone:
      return "None";
    case Value::Kind::kBool:
      return v.as_bool() ? "True" : "False";
    case Value::Kind::kInt:
      return std::to_string(v.as_int());
    case Value::Kind::kFloat:
      return FloatRepr(v.as_float());
    case Value::Kind::kString:
      return v.str();
    case Value::Kind::kList:
    case Value::Kind::kDict:
      return Repr(v);
    case Value::Kind::kObject:
      return v.object().Repr();
    case Value::Kind::kFunction:
      return v.function().repr;
  }
  return "";
}

std::string Repr(const Value& v) {
  std::string out;
  AppendRepr(v, out, 0);
  return out;
}

Result<std::vector<Value>> Iterate(const Value& v) {
  switch (v.kind()) {
    case Value::Kind::kUndefined:
      return std::vector<Value>{};
    case Value::Kind::kList: {
      ListData& l = v.list();
      if (l.kind != SeqKind::kIterator) return l.items;
      std::vector<Value> rest(l.items.begin() + static_cast<std::ptrdiff_t>(l.consumed),
                              l.items.end());
      l.consumed = l.items.size();
      return rest;
    }
    case Value::Kind::kDict: {
      std::vector<Value> keys;
      keys.reserve(v.dict().entries.size());
      for (const auto& [k, val] : v.dict().entries) keys.push_back(k);
      return keys;
    }
    case Value::Kind::kString: {
      std::vector<Value> chars;
      for (char32_t c : DecodeUtf8(v.str())) {
        std::string s;
        AppendUtf8(s, c);
        chars.push_back(Value::String(std::move(s)));
      }
      return chars;
    }
    default:
      return InvalidArgument("'{}' object is not iterable", TypeName(v));
  }
}

Result<int64_t> Length(const Value& v) {
  switch (v.kind()) {
    case Value::Kind::kUndefined:
      return int64_t{0};
    case Value::Kind::kString:
      return static_cast<int64_t>(CountCodepoints(v.str()));
    case Value::Kind::kList:
      if (v.is_iterator()) break;
      return static_cast<int64_t>(v.list().items.size());
    case Value::Kind::kDict:
      return static_cast<int64_t>(v.dict().entries.size());
    default:
      break;
  }
  return InvalidArgument("object of type '{}' has no len()", TypeName(v));
}

Result<bool> Contains(const Value& haystack, const Value& needle) {
  switch (haystack.kind()) {
    case Value::Kind::kString:
      if (!needle.is_string()) {
        return InvalidArgument("'in <string>' requires string as left operand, not {}",
                               TypeName(needle));
      }
      return haystack.str().find(needle.str()) != std::string::npos;
    case Value::Kind::kDict:
      if (!IsHashable(needle)) {
        return InvalidArgument("unhashable type: '{}'", TypeName(needle));
      }
      return haystack.dict().Find(needle) != nullptr;
    case Value::Kind::kList: {
      ListData& l = haystack.list();
      size_t start = l.kind == SeqKind::kIterator ? l.consumed : 0;
      for (size_t i = start; i < l.items.size(); ++i) {
        if (Equals(l.items[i], needle)) {
          if (l.kind == SeqKind::kIterator) l.consumed = i + 1;
          return true;
        }
      }
      if (l.kind == SeqKind::kIterator) l.consumed = l.items.size();
      return false;
    }
    case Value::Kind::kUndefined:
      return false;
    default:
      return InvalidArgument("argument of type '{}' is not iterable", TypeName(haystack));
  }
}

}  // namespace loom::jinja
