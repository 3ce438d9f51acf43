// String, number and JSON filters, and the registry of every jinja2 filter name.
#include "frontend/jinja/filters.h"

#include <fmt/core.h>

#include <cmath>
#include <cstdio>
#include <unordered_map>

#include "frontend/jinja/filters_internal.h"
#include "frontend/jinja/methods.h"
#include "frontend/jinja/objects.h"
#include "frontend/jinja/py_ops.h"
#include "frontend/jinja/unicode.h"
#include "frontend/jinja/value_json.h"

namespace loom::jinja {

Value SoftStr(const Value& v) {
  if (v.is_string()) return v;
  return Value::String(ToStr(v));
}

namespace {

Value U32(std::u32string_view s, bool markup) { return Value::String(EncodeUtf8(s), markup); }

Result<Value> NoArgs(std::string_view fn, CallArgs& args) {
  LOOM_RETURN_IF_ERROR(BindArgs(fn, args, {}).status());
  return Value();
}

// Calls a str method on soft_str(value), as jinja2's string filters do.
Result<Value> StrMethod(Interpreter& in, const Value& v, std::string_view method, CallArgs& args) {
  LOOM_ASSIGN_OR_RETURN(Value m, in.GetAttr(SoftStr(v), method));
  return in.Call(m, args);
}

Result<Value> FilterUpper(Interpreter& in, const Value& v, CallArgs& args) {
  return StrMethod(in, v, "upper", args);
}
Result<Value> FilterLower(Interpreter& in, const Value& v, CallArgs& args) {
  return StrMethod(in, v, "lower", args);
}
Result<Value> FilterCapitalize(Interpreter& in, const Value& v, CallArgs& args) {
  return StrMethod(in, v, "capitalize", args);
}
Result<Value> FilterTrim(Interpreter& in, const Value& v, CallArgs& args) {
  LOOM_ASSIGN_OR_RETURN(auto a, BindArgs("trim", args, {"chars"}));
  CallArgs strip_args;
  if (a[0]) strip_args.positional.push_back(*a[0]);
  return StrMethod(in, v, "strip", strip_args);
}

Result<Value> FilterCenter(Interpreter& in, const Value& v, CallArgs& args) {
  LOOM_ASSIGN_OR_RETURN(auto a, BindArgs("center", args, {"width"}));
  CallArgs c;
  c.positional.push_back(a[0] ? *a[0] : Value::Int(80));
  return StrMethod(in, v, "center", c);
}

// jinja2 do_title: capitalise each piece after runs of "-", whitespace, "(", "{", "[", "<".
Result<Value> FilterTitle(Interpreter&, const Value& v, CallArgs& args) {
  LOOM_RETURN_IF_ERROR(NoArgs("title", args).status());
  std::u32string s = DecodeUtf8(ToStr(v));
  auto is_sep = [](char32_t c) {
    return c == U'-' || c == U'(' || c == U'{' || c == U'[' || c == U'<' || IsSpace(c);
  };
  std::u32string out;
  size_t i = 0;
  while (i < s.size()) {
    size_t j = i;
    bool sep = is_sep(s[i]);
    while (j < s.size() && is_sep(s[j]) == sep) ++j;
    std::u32string piece = s.substr(i, j - i);
    if (!sep) {
      piece = LowerString(piece);
      piece[0] = ToUpper(s[i]);
    }
    out += piece;
    i = j;
  }
  return U32(out, false);
}

Result<Value> FilterReplace(Interpreter& in, const Value& v, CallArgs& args) {
  LOOM_ASSIGN_OR_RETURN(auto a, BindArgs("replace", args, {"old", "new", "count"}, 2));
  CallArgs r;
  r.positional = {Value::String(ToStr(*a[0])), Value::String(ToStr(*a[1]))};
  if (a[2] && !a[2]->is_none()) r.positional.push_back(*a[2]);
  LOOM_ASSIGN_OR_RETURN(Value out, StrMethod(in, Value::String(ToStr(v)), "replace", r));
  return Value::String(out.str());
}

Result<Value> FilterString(Interpreter&, const Value& v, CallArgs& args) {
  LOOM_RETURN_IF_ERROR(NoArgs("string", args).status());
  return SoftStr(v);
}

Result<Value> FilterSafe(Interpreter&, const Value& v, CallArgs& args) {
  LOOM_RETURN_IF_ERROR(NoArgs("safe", args).status());
  return Value::String(ToStr(v), true);
}

Result<Value> FilterEscape(Interpreter&, const Value& v, CallArgs& args) {
  LOOM_RETURN_IF_ERROR(NoArgs("escape", args).status());
  if (v.is_markup()) return v;
  return Value::String(HtmlEscape(ToStr(v)), true);
}

Result<Value> FilterForceescape(Interpreter&, const Value& v, CallArgs& args) {
  LOOM_RETURN_IF_ERROR(NoArgs("forceescape", args).status());
  return Value::String(HtmlEscape(ToStr(v)), true);
}

Result<Value> FilterDefault(Interpreter&, const Value& v, CallArgs& args) {
  LOOM_ASSIGN_OR_RETURN(auto a, BindArgs("default", args, {"default_value", "boolean"}));
  bool boolean = a[1] && Truthy(*a[1]);
  if (v.is_undefined() || (boolean && !Truthy(v))) {
    return a[0] ? *a[0] : Value::String("");
  }
  return v;
}

Result<Value> FilterAbs(Interpreter&, const Value& v, CallArgs& args) {
  LOOM_RETURN_IF_ERROR(NoArgs("abs", args).status());
  if (v.is_float()) return Value::Float(std::fabs(v.as_float()));
  if (v.is_int() || v.is_bool()) {
    if (v.as_int() == INT64_MIN) return InvalidArgument("integer overflow in template arithmetic");
    return Value::Int(v.as_int() < 0 ? -v.as_int() : v.as_int());
  }
  if (v.is_undefined()) return InvalidArgument("{}", v.undefined_message());
  return InvalidArgument("bad operand type for abs(): '{}'", TypeName(v));
}

Result<Value> FilterInt(Interpreter&, const Value& v, CallArgs& args) {
  LOOM_ASSIGN_OR_RETURN(auto a, BindArgs("int", args, {"default", "base"}));
  Value dflt = a[0] ? *a[0] : Value::Int(0);
  int base = a[1] && (a[1]->is_int() || a[1]->is_bool()) ? static_cast<int>(a[1]->as_int()) : 10;
  if (v.is_undefined()) return InvalidArgument("{}", v.undefined_message());
  if (v.is_int() || v.is_bool()) return Value::Int(v.as_int());
  if (v.is_float()) {
    double d = v.as_float();
    if (!std::isfinite(d) || std::fabs(d) >= 9.2e18) return dflt;
    return Value::Int(static_cast<int64_t>(std::trunc(d)));
  }
  if (v.is_string()) {
    if (std::optional<int64_t> i = ParsePyInt(v.str(), base)) return Value::Int(*i);
    // jinja2 falls back to int(float(value)).
    if (std::optional<double> d = ParsePyFloat(v.str())) {
      if (std::isfinite(*d) && std::fabs(*d) < 9.2e18) {
        return Value::Int(static_cast<int64_t>(std::trunc(*d)));
      }
    }
  }
  return dflt;
}

Result<Value> FilterFloat(Interpreter&, const Value& v, CallArgs& args) {
  LOOM_ASSIGN_OR_RETURN(auto a, BindArgs("float", args, {"default"}));
  if (v.is_undefined()) return InvalidArgument("{}", v.undefined_message());
  if (v.is_number()) return Value::Float(v.as_float());
  if (v.is_string()) {
    if (std::optional<double> d = ParsePyFloat(v.str())) return Value::Float(*d);
  }
  return a[0] ? *a[0] : Value::Float(0.0);
}

// Python round(x, n): correctly rounded, ties to even on the exact binary value.
double PyRound(double x, int64_t n) {
  if (!std::isfinite(x) || n > 300) return x;
  if (n < -300) return 0.0 * x;
  char buf[512];
  if (n >= 0) {
    std::snprintf(buf, sizeof(buf), "%.*f", static_cast<int>(n), x);
    return std::strtod(buf, nullptr);
  }
  double p = std::pow(10.0, static_cast<double>(-n));
  double y = x / p;
  double r = std::nearbyint(y);  // default rounding mode: ties to even
  return r * p;
}

Result<Value> FilterRound(Interpreter&, const Value& v, CallArgs& args) {
  LOOM_ASSIGN_OR_RETURN(auto a, BindArgs("round", args, {"precision", "method"}));
  int64_t precision = a[0] ? a[0]->as_int() : 0;
  std::string method = a[1] ? ToStr(*a[1]) : "common";
  if (method != "common" && method != "ceil" && method != "floor") {
    return InvalidArgument("method must be common, ceil or floor");
  }
  if (!v.is_number()) {
    return InvalidArgument("type {} doesn't define __round__ method", TypeName(v));
  }
  if (method == "common") {
    if (!v.is_float()) return Value::Int(v.as_int());
    return Value::Float(PyRound(v.as_float(), precision));
  }
  double scale = std::pow(10.0, static_cast<double>(precision));
  double x = v.as_float() * scale;
  return Value::Float((method == "ceil" ? std::ceil(x) : std::floor(x)) / scale);
}

// Python str.splitlines() pieces (without ends).
std::vector<std::u32string> SplitLines(const std::u32string& s) {
  std::vector<std::u32string> lines;
  size_t start = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    char32_t c = s[i];
    bool brk = c == U'\n' || c == U'\r' || c == 0x0B || c == 0x0C || (c >= 0x1C && c <= 0x1E) ||
               c == 0x85 || c == 0x2028 || c == 0x2029;
    if (!brk) continue;
    lines.push_back(s.substr(start, i - start));
    if (c == U'\r' && i + 1 < s.size() && s[i + 1] == U'\n') ++i;
    start = i + 1;
  }
  if (start < s.size()) lines.push_back(s.substr(start));
  return lines;
}

Result<Value> FilterIndent(Interpreter&, const Value& v, CallArgs& args) {
  LOOM_ASSIGN_OR_RETURN(auto a, BindArgs("indent", args, {"width", "first", "blank"}));
  std::u32string indention;
  if (a[0] && a[0]->is_string()) {
    indention = DecodeUtf8(a[0]->str());
  } else {
    int64_t w = a[0] ? a[0]->as_int() : 4;
    if (w > 4096) return InvalidArgument("indent width is too large");
    indention.assign(static_cast<size_t>(std::max<int64_t>(w, 0)), U' ');
  }
  if (!v.is_string()) {
    return InvalidArgument("unsupported operand type(s) for +=: '{}' and 'str'", TypeName(v));
  }
  std::u32string s = DecodeUtf8(v.str()) + U"\n";
  std::vector<std::u32string> lines = SplitLines(s);
  std::u32string rv;
  if (a[2] && Truthy(*a[2])) {
    for (size_t i = 0; i < lines.size(); ++i) {
      if (i > 0) rv += U"\n" + indention;
      rv += lines[i];
    }
  } else {
    rv = lines.empty() ? U"" : lines[0];
    for (size_t i = 1; i < lines.size(); ++i) {
      rv += U"\n";
      if (!lines[i].empty()) rv += indention;
      rv += lines[i];
    }
  }
  if (a[1] && Truthy(*a[1])) rv = indention + rv;
  return U32(rv, v.is_markup());
}

Result<Value> FilterTruncate(Interpreter&, const Value& v, CallArgs& args) {
  LOOM_ASSIGN_OR_RETURN(auto a,
                        BindArgs("truncate", args, {"length", "killwords", "end", "leeway"}));
  int64_t length = a[0] ? a[0]->as_int() : 255;
  bool killwords = a[1] && Truthy(*a[1]);
  std::u32string end = a[2] ? DecodeUtf8(ToStr(*a[2])) : U"...";
  int64_t leeway = a[3] && !a[3]->is_none() ? a[3]->as_int() : 5;
  if (length < static_cast<int64_t>(end.size())) {
    return InvalidArgument("expected length >= {}, got {}", end.size(), length);
  }
  if (leeway < 0) return InvalidArgument("expected leeway >= 0, got {}", leeway);
  if (!v.is_string()) {
    // jinja2 slices the value itself; only a short sequence passes through unchanged.
    LOOM_ASSIGN_OR_RETURN(int64_t n, Length(v));
    if (n <= length + leeway) return v;
    return InvalidArgument("can only concatenate {} (not \"str\") to {}", TypeName(v), TypeName(v));
  }
  std::u32string s = DecodeUtf8(v.str());
  if (static_cast<int64_t>(s.size()) <= length + leeway) return v;
  std::u32string head = s.substr(0, static_cast<size_t>(length) - end.size());
  if (!killwords) {
    size_t space = head.rfind(U' ');
    if (space != std::u32string::npos) head = head.substr(0, space);
  }
  return U32(head + end, false);
}

Result<Value> FilterWordcount(Interpreter&, const Value& v, CallArgs& args) {
  LOOM_RETURN_IF_ERROR(NoArgs("wordcount", args).status());
  int64_t n = 0;
  bool in_word = false;
  for (char32_t c : DecodeUtf8(ToStr(v))) {
    bool w = IsWordChar(c);
    if (w && !in_word) ++n;
    in_word = w;
  }
  return Value::Int(n);
}

Result<Value> FilterFormat(Interpreter&, const Value& v, CallArgs& args) {
  if (!args.positional.empty() && !args.keywords.empty()) {
    return InvalidArgument("can't handle positional and keyword arguments at the same time");
  }
  Value fmt_args;
  if (!args.keywords.empty()) {
    auto d = std::make_shared<DictData>();
    for (auto& [k, x] : args.keywords) d->Set(Value::String(k), x);
    fmt_args = Value::Dict(std::move(d));
  } else {
    fmt_args = Value::List(args.positional, SeqKind::kTuple);
  }
  Value s = SoftStr(v);
  LOOM_ASSIGN_OR_RETURN(std::string out, PercentFormat(s.str(), fmt_args));
  return Value::String(std::move(out), s.is_markup());
}

// transformers' override: json.dumps(x, ensure_ascii=False, indent=indent,
// separators=separators, sort_keys=sort_keys). Not HTML-escaped, unlike jinja2's own tojson.
Result<Value> FilterTojson(Interpreter& in, const Value& v, CallArgs& args) {
  LOOM_ASSIGN_OR_RETURN(
      auto a, BindArgs("tojson", args, {"ensure_ascii", "indent", "separators", "sort_keys"}));
  DumpsOptions o;
  o.ensure_ascii = a[0] && Truthy(*a[0]);
  o.sort_keys = a[3] && Truthy(*a[3]);
  if (a[1] && !a[1]->is_none()) {
    if (a[1]->is_string()) {
      o.indent = a[1]->str();
    } else if (a[1]->is_int() || a[1]->is_bool()) {
      int64_t n = a[1]->as_int();
      if (n > 4096) return InvalidArgument("tojson indent is too large");
      o.indent = std::string(static_cast<size_t>(std::max<int64_t>(n, 0)), ' ');
    } else {
      return InvalidArgument("tojson indent must be an int or str, not {}", TypeName(*a[1]));
    }
  }
  if (a[2] && !a[2]->is_none()) {
    if (!a[2]->is_sequence() || a[2]->list().items.size() != 2 ||
        !a[2]->list().items[0].is_string() || !a[2]->list().items[1].is_string()) {
      return InvalidArgument("tojson separators must be a pair of strings");
    }
    o.separators = std::make_pair(a[2]->list().items[0].str(), a[2]->list().items[1].str());
  }
  LOOM_ASSIGN_OR_RETURN(std::string s, PyJsonDumps(v, o));
  LOOM_RETURN_IF_ERROR(in.CheckSize(s.size()));
  return Value::String(std::move(s));
}

Result<Value> FilterAttr(Interpreter& in, const Value& v, CallArgs& args) {
  LOOM_ASSIGN_OR_RETURN(auto a, BindArgs("attr", args, {"name"}, 1));
  if (!a[0]->is_string()) return InvalidArgument("attribute name must be a string");
  // jinja2 do_attr looks up a real attribute only, never an item (unlike `x.name`).
  std::optional<Value> attr =
      v.is_object() ? v.object().GetAttr(a[0]->str()) : BuiltinAttr(v, a[0]->str());
  if (!attr) {
    return Value::Undefined(
        fmt::format("'{}' has no attribute {}", ObjectTypeRepr(v), StrRepr(a[0]->str())));
  }
  return in.GetAttr(v, a[0]->str());
}

Result<Value> FilterPprint(Interpreter&, const Value& v, CallArgs& args) {
  LOOM_RETURN_IF_ERROR(NoArgs("pprint", args).status());
  return Value::String(Repr(v));
}

Result<Value> FilterUrlencode(Interpreter&, const Value& v, CallArgs& args) {
  LOOM_RETURN_IF_ERROR(NoArgs("urlencode", args).status());
  auto quote = [](const std::string& s, bool for_qs) {
    std::string out;
    for (unsigned char c : s) {
      if (std::isalnum(c) || c == '_' || c == '.' || c == '-' || c == '~' ||
          (!for_qs && c == '/')) {
        out.push_back(static_cast<char>(c));
      } else if (for_qs && c == ' ') {
        out.push_back('+');
      } else {
        out += fmt::format("%{:02X}", c);
      }
    }
    return out;
  };
  if (v.is_dict()) {
    std::string out;
    for (const auto& [k, x] : v.dict().entries) {
      if (!out.empty()) out += "&";
      out += quote(ToStr(k), true) + "=" + quote(ToStr(x), true);
    }
    return Value::String(std::move(out));
  }
  return Value::String(quote(ToStr(v), false));
}

Result<Value> FilterStriptags(Interpreter&, const Value& v, CallArgs& args) {
  LOOM_RETURN_IF_ERROR(NoArgs("striptags", args).status());
  std::string s = ToStr(v);
  std::string text;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s.compare(i, 4, "<!--") == 0) {
      size_t e = s.find("-->", i);
      if (e == std::string::npos) break;
      i = e + 2;
    } else if (s[i] == '<') {
      size_t e = s.find('>', i);
      if (e == std::string::npos) {
        text.push_back(s[i]);
        continue;
      }
      i = e;
    } else {
      text.push_back(s[i]);
    }
  }
  std::string out;
  for (char32_t c : DecodeUtf8(text)) {
    if (IsSpace(c)) {
      if (!out.empty() && out.back() != ' ') out.push_back(' ');
    } else {
      AppendUtf8(out, c);
    }
  }
  while (!out.empty() && out.back() == ' ') out.pop_back();
  return Value::String(std::move(out));
}

Result<Value> FilterXmlattr(Interpreter&, const Value& v, CallArgs& args) {
  LOOM_ASSIGN_OR_RETURN(auto a, BindArgs("xmlattr", args, {"autospace"}));
  if (!v.is_dict()) return InvalidArgument("xmlattr expects a mapping");
  std::string out;
  for (const auto& [k, x] : v.dict().entries) {
    if (x.is_none() || x.is_undefined()) continue;
    std::string key = ToStr(k);
    if (key.find_first_of(" \t\n\r\f\v/>=") != std::string::npos) {
      return InvalidArgument("Invalid character in attribute name: {}", StrRepr(key));
    }
    if (!out.empty()) out += " ";
    out += HtmlEscape(key) + "=\"" + HtmlEscape(ToStr(x)) + "\"";
  }
  if ((!a[0] || Truthy(*a[0])) && !out.empty()) out = " " + out;
  return Value::String(std::move(out));
}

Result<Value> FilterFilesizeformat(Interpreter&, const Value& v, CallArgs& args) {
  LOOM_ASSIGN_OR_RETURN(auto a, BindArgs("filesizeformat", args, {"binary"}));
  bool binary = a[0] && Truthy(*a[0]);
  double bytes = 0;
  if (v.is_number()) {
    bytes = v.as_float();
  } else if (v.is_string() && ParsePyFloat(v.str())) {
    bytes = *ParsePyFloat(v.str());
  } else {
    return InvalidArgument("could not convert {} to float", TypeName(v));
  }
  double base = binary ? 1024 : 1000;
  static constexpr const char* kDec[] = {"kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB"};
  static constexpr const char* kBin[] = {"KiB", "MiB", "GiB", "TiB", "PiB", "EiB", "ZiB", "YiB"};
  if (bytes == 1) return Value::String("1 Byte");
  if (bytes < base) return Value::String(fmt::format("{} Bytes", static_cast<int64_t>(bytes)));
  double unit = base;
  for (int i = 0; i < 8; ++i) {
    unit = std::pow(base, i + 2);
    if (bytes < unit || i == 7) {
      return Value::String(
          fmt::format("{:.1f} {}", base * bytes / unit, binary ? kBin[i] : kDec[i]));
    }
  }
  return Value::String("");
}

Result<Value> Unsupported(Interpreter&, const Value&, CallArgs&) {
  return InvalidArgument("this jinja2 filter (random, urlize, wordwrap) is not supported");
}

const std::unordered_map<std::string_view, FilterFn>& Registry() {
  static const auto* registry = new std::unordered_map<std::string_view, FilterFn>{
      {"abs", FilterAbs},
      {"attr", FilterAttr},
      {"batch", FilterBatch},
      {"capitalize", FilterCapitalize},
      {"center", FilterCenter},
      {"count", FilterLength},
      {"d", FilterDefault},
      {"default", FilterDefault},
      {"dictsort", FilterDictsort},
      {"e", FilterEscape},
      {"escape", FilterEscape},
      {"filesizeformat", FilterFilesizeformat},
      {"first", FilterFirst},
      {"float", FilterFloat},
      {"forceescape", FilterForceescape},
      {"format", FilterFormat},
      {"groupby", FilterGroupby},
      {"indent", FilterIndent},
      {"int", FilterInt},
      {"join", FilterJoin},
      {"last", FilterLast},
      {"length", FilterLength},
      {"list", FilterList},
      {"lower", FilterLower},
      {"items", FilterItems},
      {"map", FilterMap},
      {"min", FilterMin},
      {"max", FilterMax},
      {"pprint", FilterPprint},
      {"random", Unsupported},
      {"reject", FilterReject},
      {"rejectattr", FilterRejectattr},
      {"replace", FilterReplace},
      {"reverse", FilterReverse},
      {"round", FilterRound},
      {"safe", FilterSafe},
      {"select", FilterSelect},
      {"selectattr", FilterSelectattr},
      {"slice", FilterSlice},
      {"sort", FilterSort},
      {"string", FilterString},
      {"striptags", FilterStriptags},
      {"sum", FilterSum},
      {"title", FilterTitle},
      {"trim", FilterTrim},
      {"truncate", FilterTruncate},
      {"unique", FilterUnique},
      {"upper", FilterUpper},
      {"urlencode", FilterUrlencode},
      {"urlize", Unsupported},
      {"wordcount", FilterWordcount},
      {"wordwrap", Unsupported},
      {"xmlattr", FilterXmlattr},
      {"tojson", FilterTojson},
  };
  return *registry;
}

}  // namespace

FilterFn FindFilter(std::string_view name) {
  const auto& r = Registry();
  auto it = r.find(name);
  return it == r.end() ? nullptr : it->second;
}

}  // namespace loom::jinja
