#include "frontend/jinja/methods.h"

#include <fmt/core.h>

#include <algorithm>
#include <array>

#include "frontend/jinja/interpreter.h"
#include "frontend/jinja/objects.h"
#include "frontend/jinja/py_ops.h"
#include "frontend/jinja/unicode.h"

namespace loom::jinja {
namespace {

using Method = Result<Value> (*)(Interpreter&, const Value& self, CallArgs& args);

Value Str(std::u32string_view s, bool markup = false) {
  return Value::String(EncodeUtf8(s), markup);
}

Result<std::u32string> StrArg(std::string_view fn, const Value& v) {
  if (!v.is_string()) {
    return InvalidArgument("{}() argument must be str, not {}", fn, TypeName(v));
  }
  return DecodeUtf8(v.str());
}

Result<int64_t> IntArg(std::string_view fn, const std::optional<Value>& v, int64_t dflt) {
  if (!v || v->is_none()) return dflt;
  if (!v->is_int() && !v->is_bool()) {
    return InvalidArgument("'{}' object cannot be interpreted as an integer", TypeName(*v));
  }
  return v->as_int();
}

// Python str.strip/lstrip/rstrip. chars: nullopt or None = whitespace.
Result<Value> Strip(const Value& self, CallArgs& args, bool left, bool right, std::string_view fn) {
  LOOM_ASSIGN_OR_RETURN(auto a, BindArgs(fn, args, {"chars"}));
  std::u32string s = DecodeUtf8(self.str());
  std::u32string chars;
  bool whitespace = !a[0] || a[0]->is_none();
  if (!whitespace) {
    LOOM_ASSIGN_OR_RETURN(chars, StrArg(fn, *a[0]));
  }
  auto strip_it = [&](char32_t c) {
    return whitespace ? IsSpace(c) : chars.find(c) != std::u32string::npos;
  };
  size_t b = 0;
  size_t e = s.size();
  if (left) {
    while (b < e && strip_it(s[b])) ++b;
  }
  if (right) {
    while (e > b && strip_it(s[e - 1])) --e;
  }
  return Str(std::u32string_view(s).substr(b, e - b), self.is_markup());
}

// Python str.split / str.rsplit.
Result<Value> Split(const Value& self, CallArgs& args, bool from_right) {
  std::string_view fn = from_right ? "rsplit" : "split";
  LOOM_ASSIGN_OR_RETURN(auto a, BindArgs(fn, args, {"sep", "maxsplit"}));
  LOOM_ASSIGN_OR_RETURN(int64_t maxsplit, IntArg(fn, a[1], -1));
  std::u32string s = DecodeUtf8(self.str());
  std::vector<std::u32string> parts;
  if (!a[0] || a[0]->is_none()) {
    // Runs of whitespace separate; leading/trailing whitespace yields no empty parts.
    std::u32string work = s;
    if (from_right) std::reverse(work.begin(), work.end());
    size_t i = 0;
    int64_t splits = 0;
    while (true) {
      while (i < work.size() && IsSpace(work[i])) ++i;
      if (i >= work.size()) break;
      if (maxsplit >= 0 && splits >= maxsplit) {
        parts.push_back(work.substr(i));  // the remainder keeps its trailing whitespace
        break;
      }
      size_t j = i;
      while (j < work.size() && !IsSpace(work[j])) ++j;
      parts.push_back(work.substr(i, j - i));
      ++splits;
      i = j;
    }
    if (from_right) {
      for (auto& p : parts) std::reverse(p.begin(), p.end());
      std::reverse(parts.begin(), parts.end());
    }
  } else {
    LOOM_ASSIGN_OR_RETURN(std::u32string sep, StrArg(fn, *a[0]));
    if (sep.empty()) return InvalidArgument("empty separator");
    if (!from_right) {
      size_t start = 0;
      int64_t splits = 0;
      while (maxsplit < 0 || splits < maxsplit) {
        size_t pos = s.find(sep, start);
        if (pos == std::u32string::npos) break;
        parts.push_back(s.substr(start, pos - start));
        start = pos + sep.size();
        ++splits;
      }
      parts.push_back(s.substr(start));
    } else {
      size_t end = s.size();
      int64_t splits = 0;
      while (maxsplit < 0 || splits < maxsplit) {
        if (end < sep.size()) break;
        size_t pos = s.rfind(sep, end - sep.size());
        if (pos == std::u32string::npos) break;
        parts.push_back(s.substr(pos + sep.size(), end - pos - sep.size()));
        end = pos;
        ++splits;
      }
      parts.push_back(s.substr(0, end));
      std::reverse(parts.begin(), parts.end());
    }
  }
  std::vector<Value> out;
  out.reserve(parts.size());
  for (const auto& p : parts) out.push_back(Str(p, self.is_markup()));
  return Value::List(std::move(out));
}

bool IsLineBreak(char32_t c) {
  return c == U'\n' || c == U'\r' || c == 0x0B || c == 0x0C || (c >= 0x1C && c <= 0x1E) ||
         c == 0x85 || c == 0x2028 || c == 0x2029;
}

Result<Value> SplitLines(const Value& self, CallArgs& args) {
  LOOM_ASSIGN_OR_RETURN(auto a, BindArgs("splitlines", args, {"keepends"}));
  bool keep = a[0] && Truthy(*a[0]);
  std::u32string s = DecodeUtf8(self.str());
  std::vector<Value> out;
  size_t start = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    if (!IsLineBreak(s[i])) continue;
    size_t brk = (s[i] == U'\r' && i + 1 < s.size() && s[i + 1] == U'\n') ? 2 : 1;
    out.push_back(Str(std::u32string_view(s).substr(start, i - start + (keep ? brk : 0))));
    i += brk - 1;
    start = i + 1;
  }
  if (start < s.size()) out.push_back(Str(std::u32string_view(s).substr(start)));
  return Value::List(std::move(out));
}

// str.find / rfind / index / rindex / count with optional start, end (code point offsets).
Result<Value> Search(const Value& self, CallArgs& args, std::string_view fn) {
  LOOM_ASSIGN_OR_RETURN(auto a, BindArgs(fn, args, {"sub", "start", "end"}, 1));
  LOOM_ASSIGN_OR_RETURN(std::u32string sub, StrArg(fn, *a[0]));
  std::u32string s = DecodeUtf8(self.str());
  auto n = static_cast<int64_t>(s.size());
  LOOM_ASSIGN_OR_RETURN(int64_t start, IntArg(fn, a[1], 0));
  LOOM_ASSIGN_OR_RETURN(int64_t end, IntArg(fn, a[2], n));
  auto clamp = [n](int64_t i) { return std::clamp(i < 0 ? i + n : i, int64_t{0}, n); };
  start = clamp(start);
  end = clamp(end);
  std::u32string window = start <= end ? s.substr(start, end - start) : std::u32string();
  if (fn == "count") {
    if (start > end) return Value::Int(0);
    if (sub.empty()) return Value::Int(static_cast<int64_t>(window.size()) + 1);
    int64_t c = 0;
    for (size_t p = window.find(sub); p != std::u32string::npos;
         p = window.find(sub, p + sub.size()))
      ++c;
    return Value::Int(c);
  }
  bool reverse = fn == "rfind" || fn == "rindex";
  size_t pos = std::u32string::npos;
  if (start <= end && sub.size() <= window.size()) {
    pos = reverse ? window.rfind(sub) : window.find(sub);
  }
  if (pos == std::u32string::npos) {
    if (fn == "index" || fn == "rindex") return InvalidArgument("substring not found");
    return Value::Int(-1);
  }
  return Value::Int(start + static_cast<int64_t>(pos));
}

Result<Value> Affix(const Value& self, CallArgs& args, bool prefix) {
  std::string_view fn = prefix ? "startswith" : "endswith";
  LOOM_ASSIGN_OR_RETURN(auto a, BindArgs(fn, args, {"affix", "start", "end"}, 1));
  std::vector<Value> options;
  if (a[0]->is_sequence() && a[0]->list().kind == SeqKind::kTuple) {
    options = a[0]->list().items;
  } else if (a[0]->is_string()) {
    options.push_back(*a[0]);
  } else {
    return InvalidArgument("{} first arg must be str or a tuple of str, not {}", fn,
                           TypeName(*a[0]));
  }
  std::u32string s = DecodeUtf8(self.str());
  auto n = static_cast<int64_t>(s.size());
  LOOM_ASSIGN_OR_RETURN(int64_t start, IntArg(fn, a[1], 0));
  LOOM_ASSIGN_OR_RETURN(int64_t end, IntArg(fn, a[2], n));
  auto clamp = [n](int64_t i) { return std::clamp(i < 0 ? i + n : i, int64_t{0}, n); };
  start = clamp(start);
  end = clamp(end);
  if (start > end) return Value::Bool(false);
  std::u32string window = s.substr(start, end - start);
  for (const Value& o : options) {
    LOOM_ASSIGN_OR_RETURN(std::u32string x, StrArg(fn, o));
    if (x.size() > window.size()) continue;
    if (prefix ? window.compare(0, x.size(), x) == 0
               : window.compare(window.size() - x.size(), x.size(), x) == 0) {
      return Value::Bool(true);
    }
  }
  return Value::Bool(false);
}

Result<Value> Replace(const Value& self, CallArgs& args) {
  LOOM_ASSIGN_OR_RETURN(auto a, BindArgs("replace", args, {"old", "new", "count"}, 2));
  LOOM_ASSIGN_OR_RETURN(std::u32string old_s, StrArg("replace", *a[0]));
  LOOM_ASSIGN_OR_RETURN(std::u32string new_s, StrArg("replace", *a[1]));
  LOOM_ASSIGN_OR_RETURN(int64_t count, IntArg("replace", a[2], -1));
  std::u32string s = DecodeUtf8(self.str());
  std::u32string out;
  int64_t done = 0;
  if (old_s.empty()) {
    // Python inserts the replacement before every character and at the end.
    for (size_t i = 0; i <= s.size(); ++i) {
      if (count < 0 || done < count) {
        out += new_s;
        ++done;
      }
      if (i < s.size()) out.push_back(s[i]);
    }
  } else {
    size_t start = 0;
    while (count < 0 || done < count) {
      size_t pos = s.find(old_s, start);
      if (pos == std::u32string::npos) break;
      out.append(s, start, pos - start);
      out += new_s;
      start = pos + old_s.size();
      ++done;
    }
    out.append(s, start, std::u32string::npos);
  }
  return Str(out, self.is_markup());
}

// Python str.title(): a cased character is uppercased after an uncased one, lowercased after
// a cased one.
std::u32string PyTitle(std::u32string s) {
  bool prev_cased = false;
  for (char32_t& c : s) {
    bool cased = IsUpper(c) || IsLower(c);
    if (cased) c = prev_cased ? ToLower(c) : ToUpper(c);
    prev_cased = cased;
  }
  return s;
}

Result<Value> Justify(Interpreter& in, const Value& self, CallArgs& args, std::string_view fn) {
  LOOM_ASSIGN_OR_RETURN(auto a, BindArgs(fn, args, {"width", "fillchar"}, 1));
  LOOM_ASSIGN_OR_RETURN(int64_t width, IntArg(fn, a[0], 0));
  char32_t fill = U' ';
  if (a[1]) {
    LOOM_ASSIGN_OR_RETURN(std::u32string f, StrArg(fn, *a[1]));
    if (f.size() != 1) {
      return InvalidArgument("The fill character must be exactly one character long");
    }
    fill = f[0];
  }
  std::u32string s = DecodeUtf8(self.str());
  auto n = static_cast<int64_t>(s.size());
  LOOM_RETURN_IF_ERROR(in.CheckSize(static_cast<size_t>(std::max<int64_t>(width, 0))));
  if (width <= n) return self;
  int64_t marg = width - n;
  int64_t left = 0;
  if (fn == "center") {
    left = marg / 2 + (marg & width & 1);
  } else if (fn == "rjust") {
    left = marg;
  }
  return Str(std::u32string(static_cast<size_t>(left), fill) + s +
                 std::u32string(static_cast<size_t>(marg - left), fill),
             self.is_markup());
}

Result<Value> Join(Interpreter& in, const Value& self, CallArgs& args) {
  LOOM_ASSIGN_OR_RETURN(auto a, BindArgs("join", args, {"iterable"}, 1));
  LOOM_ASSIGN_OR_RETURN(std::vector<Value> items, Iterate(*a[0]));
  std::string out;
  for (size_t i = 0; i < items.size(); ++i) {
    if (!items[i].is_string()) {
      return InvalidArgument("sequence item {}: expected str instance, {} found", i,
                             TypeName(items[i]));
    }
    if (i > 0) out += self.str();
    out += items[i].str();
    LOOM_RETURN_IF_ERROR(in.CheckSize(out.size()));
  }
  return Value::String(std::move(out));
}

Result<Value> Partition(const Value& self, CallArgs& args, bool from_right) {
  std::string_view fn = from_right ? "rpartition" : "partition";
  LOOM_ASSIGN_OR_RETURN(auto a, BindArgs(fn, args, {"sep"}, 1));
  LOOM_ASSIGN_OR_RETURN(std::u32string sep, StrArg(fn, *a[0]));
  if (sep.empty()) return InvalidArgument("empty separator");
  std::u32string s = DecodeUtf8(self.str());
  size_t pos = from_right ? s.rfind(sep) : s.find(sep);
  std::vector<Value> out;
  if (pos == std::u32string::npos) {
    out = from_right ? std::vector<Value>{Str(U""), Str(U""), Str(s)}
                     : std::vector<Value>{Str(s), Str(U""), Str(U"")};
  } else {
    out = {Str(s.substr(0, pos)), Str(sep), Str(s.substr(pos + sep.size()))};
  }
  return Value::List(std::move(out), SeqKind::kTuple);
}

template <bool (*Pred)(char32_t)>
Result<Value> AllChars(const Value& self) {
  std::u32string s = DecodeUtf8(self.str());
  if (s.empty()) return Value::Bool(false);
  for (char32_t c : s) {
    if (!Pred(c)) return Value::Bool(false);
  }
  return Value::Bool(true);
}

// islower/isupper: at least one cased character and no cased character of the other case.
Result<Value> CaseTest(const Value& self, bool want_lower) {
  bool any = false;
  for (char32_t c : DecodeUtf8(self.str())) {
    if (want_lower ? IsUpper(c) : IsLower(c)) return Value::Bool(false);
    any |= want_lower ? IsLower(c) : IsUpper(c);
  }
  return Value::Bool(any);
}

Result<Value> CallStrMethod(Interpreter& in, const Value& self, std::string_view name,
                            CallArgs& args) {
  bool m = self.is_markup();
  auto no_args = [&]() -> Status {
    if (!args.positional.empty() || !args.keywords.empty()) {
      return InvalidArgument("{}() takes no arguments ({} given)", name,
                             args.positional.size() + args.keywords.size());
    }
    return Status::Ok();
  };
  if (name == "strip") return Strip(self, args, true, true, name);
  if (name == "lstrip") return Strip(self, args, true, false, name);
  if (name == "rstrip") return Strip(self, args, false, true, name);
  if (name == "split") return Split(self, args, false);
  if (name == "rsplit") return Split(self, args, true);
  if (name == "splitlines") return SplitLines(self, args);
  if (name == "startswith") return Affix(self, args, true);
  if (name == "endswith") return Affix(self, args, false);
  if (name == "replace") return Replace(self, args);
  if (name == "find" || name == "rfind" || name == "index" || name == "rindex" || name == "count") {
    return Search(self, args, name);
  }
  if (name == "join") return Join(in, self, args);
  if (name == "center" || name == "ljust" || name == "rjust") return Justify(in, self, args, name);
  if (name == "partition") return Partition(self, args, false);
  if (name == "rpartition") return Partition(self, args, true);
  if (name == "format") {
    LOOM_ASSIGN_OR_RETURN(std::string s, StrFormat(in, self.str(), args));
    return Value::String(std::move(s), m);
  }
  if (name == "removeprefix" || name == "removesuffix") {
    LOOM_ASSIGN_OR_RETURN(auto a, BindArgs(name, args, {"affix"}, 1));
    if (!a[0]->is_string()) return InvalidArgument("{}() argument must be str", name);
    const std::string& s = self.str();
    const std::string& x = a[0]->str();
    if (name == "removeprefix" && s.compare(0, x.size(), x) == 0) {
      return Value::String(s.substr(x.size()), m);
    }
    if (name == "removesuffix" && !x.empty() && s.size() >= x.size() &&
        s.compare(s.size() - x.size(), x.size(), x) == 0) {
      return Value::String(s.substr(0, s.size() - x.size()), m);
    }
    return self;
  }
  if (name == "zfill") {
    LOOM_ASSIGN_OR_RETURN(auto a, BindArgs(name, args, {"width"}, 1));
    LOOM_ASSIGN_OR_RETURN(int64_t width, IntArg(name, a[0], 0));
    std::u32string s = DecodeUtf8(self.str());
    LOOM_RETURN_IF_ERROR(in.CheckSize(static_cast<size_t>(std::max<int64_t>(width, 0))));
    if (width <= static_cast<int64_t>(s.size())) return self;
    size_t sign = (!s.empty() && (s[0] == U'+' || s[0] == U'-')) ? 1 : 0;
    s.insert(sign, static_cast<size_t>(width) - s.size(), U'0');
    return Str(s, m);
  }
  LOOM_RETURN_IF_ERROR(no_args());
  std::u32string s = DecodeUtf8(self.str());
  if (name == "upper") return Str(UpperString(s), m);
  if (name == "lower" || name == "casefold") return Str(LowerString(s), m);
  if (name == "title") return Str(PyTitle(s), m);
  if (name == "capitalize") {
    std::u32string out = LowerString(s);
    if (!out.empty()) out[0] = ToUpper(out[0]);
    return Str(out, m);
  }
  if (name == "swapcase") {
    for (char32_t& c : s) c = IsUpper(c) ? ToLower(c) : ToUpper(c);
    return Str(s, m);
  }
  if (name == "isdigit" || name == "isdecimal" || name == "isnumeric") {
    return AllChars<IsDigit>(self);
  }
  if (name == "isalpha") return AllChars<IsAlpha>(self);
  if (name == "isalnum") return AllChars<IsAlnum>(self);
  if (name == "isspace") return AllChars<IsSpace>(self);
  if (name == "islower") return CaseTest(self, true);
  if (name == "isupper") return CaseTest(self, false);
  if (name == "istitle") {
    bool any = false;
    return Value::Bool(PyTitle(s) == s && std::any_of(s.begin(), s.end(), [&](char32_t c) {
                         return any = IsUpper(c) || any;
                       }));
  }
  return InvalidArgument("str.{} is not supported", name);
}

constexpr std::array<std::string_view, 39> kStrMethods = {
    "strip",        "lstrip",       "rstrip",  "split",     "rsplit",    "splitlines", "startswith",
    "endswith",     "replace",      "find",    "rfind",     "index",     "rindex",     "count",
    "join",         "center",       "ljust",   "rjust",     "partition", "rpartition", "format",
    "removeprefix", "removesuffix", "zfill",   "upper",     "lower",     "casefold",   "title",
    "capitalize",   "swapcase",     "isdigit", "isdecimal", "isnumeric", "isalpha",    "isalnum",
    "isspace",      "islower",      "isupper", "istitle"};

Result<Value> CallDictMethod(const Value& self, std::string_view name, CallArgs& args) {
  const DictData& d = self.dict();
  if (name == "get") {
    LOOM_ASSIGN_OR_RETURN(auto a, BindArgs("get", args, {"key", "default"}, 1));
    const Value* v = d.Find(*a[0]);
    if (v != nullptr) return *v;
    return a[1] ? *a[1] : Value::None();
  }
  if (!args.positional.empty() || !args.keywords.empty()) {
    return InvalidArgument("dict.{}() takes no arguments", name);
  }
  if (name == "copy") return Value::Dict(std::make_shared<DictData>(d));
  std::vector<Value> out;
  out.reserve(d.entries.size());
  for (const auto& [k, v] : d.entries) {
    if (name == "keys") {
      out.push_back(k);
    } else if (name == "values") {
      out.push_back(v);
    } else {
      out.push_back(Value::List({k, v}, SeqKind::kTuple));
    }
  }
  // A snapshot rather than a live view: the sandbox forbids mutating dicts anyway.
  SeqKind kind = name == "keys"     ? SeqKind::kDictKeys
                 : name == "values" ? SeqKind::kDictValues
                                    : SeqKind::kDictItems;
  return Value::List(std::move(out), kind);
}

Result<Value> CallListMethod(const Value& self, std::string_view name, CallArgs& args) {
  ListData& l = self.list();
  if (name == "index" || name == "count") {
    LOOM_ASSIGN_OR_RETURN(auto a, BindArgs(name, args, {"value"}, 1));
    int64_t count = 0;
    for (size_t i = 0; i < l.items.size(); ++i) {
      if (!Equals(l.items[i], *a[0])) continue;
      if (name == "index") return Value::Int(static_cast<int64_t>(i));
      ++count;
    }
    if (name == "index") return InvalidArgument("{} is not in list", Repr(*a[0]));
    return Value::Int(count);
  }
  if (name == "copy") return Value::List(l.items, l.kind);
  if (name == "clear") {
    l.items.clear();
    return Value::None();
  }
  // pop: the one mutating list method ImmutableSandboxedEnvironment allows.
  LOOM_ASSIGN_OR_RETURN(auto a, BindArgs("pop", args, {"index"}));
  LOOM_ASSIGN_OR_RETURN(int64_t i, IntArg("pop", a[0], -1));
  auto n = static_cast<int64_t>(l.items.size());
  if (n == 0) return InvalidArgument("pop from empty list");
  if (i < 0) i += n;
  if (i < 0 || i >= n) return InvalidArgument("pop index out of range");
  Value v = l.items[static_cast<size_t>(i)];
  l.items.erase(l.items.begin() + i);
  return v;
}

Value Bound(const Value& self, std::string_view name, const char* type) {
  std::string n(name);
  return Value::MakeFunction(
      n,
      [self, n](Interpreter& in, CallArgs& args) -> Result<Value> {
        if (self.is_string()) return CallStrMethod(in, self, n, args);
        if (self.is_dict()) return CallDictMethod(self, n, args);
        return CallListMethod(self, n, args);
      },
      fmt::format("<built-in method {} of {} object>", n, type));
}

Value Unsafe(std::string_view name, std::string_view type) {
  return Value::Undefined(
      fmt::format("access to attribute '{}' of '{}' object is unsafe.", name, type));
}

bool In(std::string_view name, std::initializer_list<std::string_view> names) {
  return std::find(names.begin(), names.end(), name) != names.end();
}

}  // namespace

std::optional<Value> BuiltinAttr(const Value& obj, std::string_view name) {
  if (obj.is_string()) {
    if (std::find(kStrMethods.begin(), kStrMethods.end(), name) != kStrMethods.end()) {
      return Bound(obj, name, "str");
    }
    if (In(name, {"encode", "expandtabs", "format_map", "isidentifier", "isprintable", "isascii",
                  "maketrans", "translate"})) {
      return Bound(obj, name, "str");  // exists in Python; calling it reports "not supported"
    }
    return std::nullopt;
  }
  if (obj.is_dict()) {
    if (In(name, {"get", "items", "keys", "values", "copy"})) return Bound(obj, name, "dict");
    if (In(name, {"clear", "pop", "popitem", "setdefault", "update"})) return Unsafe(name, "dict");
    return std::nullopt;
  }
  if (obj.is_sequence()) {
    bool tuple = obj.list().kind == SeqKind::kTuple;
    if (In(name, {"index", "count"})) return Bound(obj, name, tuple ? "tuple" : "list");
    if (tuple) return std::nullopt;
    if (In(name, {"copy", "clear", "pop"})) return Bound(obj, name, "list");
    if (In(name, {"append", "extend", "insert", "remove", "reverse", "sort"})) {
      return Unsafe(name, "list");
    }
  }
  return std::nullopt;
}

}  // namespace loom::jinja
