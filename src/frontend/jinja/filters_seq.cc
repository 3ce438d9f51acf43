// Filters over sequences and mappings. Where jinja2 returns a generator (select, map, unique,
// batch, slice, items, reverse of a list) the result is a single-pass iterator value, so
// truthiness, |length errors and exhaustion behave as in jinja2.
#include <fmt/core.h>

#include <algorithm>

#include "frontend/jinja/filters_internal.h"
#include "frontend/jinja/objects.h"
#include "frontend/jinja/py_ops.h"
#include "frontend/jinja/unicode.h"

namespace loom::jinja {
namespace {

Value Iter(std::vector<Value> items) { return Value::List(std::move(items), SeqKind::kIterator); }

Value LowerIfString(const Value& v) {
  if (!v.is_string()) return v;
  return Value::String(EncodeUtf8(LowerString(DecodeUtf8(v.str()))), v.is_markup());
}

// Stable sort of items by keys (Python's sorted: stable, reverse keeps equal items in order).
Status SortByKeys(std::vector<Value>& items, const std::vector<Value>& keys, bool reverse) {
  std::vector<size_t> order(items.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  Status error;
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    Result<bool> lt = reverse ? Less(keys[b], keys[a]) : Less(keys[a], keys[b]);
    if (!lt.ok()) {
      if (error.ok()) error = lt.status();
      return false;
    }
    return *lt;
  });
  LOOM_RETURN_IF_ERROR(error);
  std::vector<Value> sorted;
  sorted.reserve(items.size());
  for (size_t i : order) sorted.push_back(items[i]);
  items = std::move(sorted);
  return Status::Ok();
}

// select/reject/selectattr/rejectattr (jinja2 select_or_reject).
Result<Value> SelectOrReject(Interpreter& in, const Value& v, CallArgs& args, bool keep_if,
                             bool lookup_attr) {
  if (!Truthy(v)) return Iter({});
  size_t off = 0;
  Value attr;
  if (lookup_attr) {
    if (args.positional.empty()) return InvalidArgument("Missing parameter for attribute name");
    attr = args.positional[0];
    off = 1;
  }
  std::optional<std::string> test;
  CallArgs test_args;
  if (args.positional.size() > off) {
    if (!args.positional[off].is_string()) return InvalidArgument("test name must be a string");
    test = args.positional[off].str();
    test_args.positional.assign(args.positional.begin() + static_cast<std::ptrdiff_t>(off + 1),
                                args.positional.end());
    test_args.keywords = args.keywords;
  }
  LOOM_ASSIGN_OR_RETURN(std::vector<Value> items, Iterate(v));
  std::vector<Value> out;
  for (const Value& item : items) {
    Value probe = item;
    if (lookup_attr) {
      LOOM_ASSIGN_OR_RETURN(probe, LookupAttribute(in, item, attr, std::nullopt, false));
    }
    bool r = false;
    if (test) {
      CallArgs a = test_args;
      LOOM_ASSIGN_OR_RETURN(r, in.ApplyTest(*test, probe, a));
    } else {
      r = Truthy(probe);
    }
    if (r == keep_if) out.push_back(item);
  }
  return Iter(std::move(out));
}

Result<Value> MinOrMax(Interpreter& in, const Value& v, CallArgs& args, bool max) {
  std::string_view fn = max ? "max" : "min";
  LOOM_ASSIGN_OR_RETURN(auto a, BindArgs(fn, args, {"case_sensitive", "attribute"}));
  bool lower = !(a[0] && Truthy(*a[0]));
  LOOM_ASSIGN_OR_RETURN(std::vector<Value> items, Iterate(v));
  if (items.empty()) return Value::Undefined("No aggregated item, sequence was empty.");
  size_t best = 0;
  Value best_key;
  for (size_t i = 0; i < items.size(); ++i) {
    LOOM_ASSIGN_OR_RETURN(Value key, LookupAttribute(in, items[i], a[1] ? *a[1] : Value::None(),
                                                     std::nullopt, lower));
    if (i == 0) {
      best_key = key;
      continue;
    }
    LOOM_ASSIGN_OR_RETURN(bool better, max ? Less(best_key, key) : Less(key, best_key));
    if (better) {
      best = i;
      best_key = key;
    }
  }
  return items[best];
}

}  // namespace

Result<Value> LookupAttribute(Interpreter& in, const Value& item, const Value& attribute,
                              const std::optional<Value>& dflt, bool lower) {
  Value cur = item;
  std::vector<Value> parts;
  if (attribute.is_string()) {
    std::string_view s = attribute.str();
    size_t start = 0;
    while (true) {
      size_t dot = s.find('.', start);
      std::string_view part = s.substr(start, dot == std::string_view::npos ? dot : dot - start);
      bool digits = !part.empty() && part.find_first_not_of("0123456789") == std::string_view::npos;
      if (digits && part.size() < 18) {
        parts.push_back(Value::Int(std::stoll(std::string(part))));
      } else {
        parts.push_back(Value::String(std::string(part)));
      }
      if (dot == std::string_view::npos) break;
      start = dot + 1;
    }
  } else if (!attribute.is_none()) {
    parts.push_back(attribute);
  }
  for (const Value& part : parts) {
    LOOM_ASSIGN_OR_RETURN(cur, in.GetItem(cur, part));
    if (dflt && !dflt->is_none() && cur.is_undefined()) cur = *dflt;
  }
  return lower ? LowerIfString(cur) : cur;
}

Result<Value> FilterLength(Interpreter&, const Value& v, CallArgs& args) {
  LOOM_RETURN_IF_ERROR(BindArgs("length", args, {}).status());
  LOOM_ASSIGN_OR_RETURN(int64_t n, Length(v));
  return Value::Int(n);
}

Result<Value> FilterList(Interpreter&, const Value& v, CallArgs& args) {
  LOOM_RETURN_IF_ERROR(BindArgs("list", args, {}).status());
  LOOM_ASSIGN_OR_RETURN(std::vector<Value> items, Iterate(v));
  return Value::List(std::move(items));
}

Result<Value> FilterFirst(Interpreter&, const Value& v, CallArgs& args) {
  LOOM_RETURN_IF_ERROR(BindArgs("first", args, {}).status());
  if (v.is_iterator()) {
    ListData& l = v.list();
    if (l.consumed < l.items.size()) return l.items[l.consumed++];
    return Value::Undefined("No first item, sequence was empty.");
  }
  LOOM_ASSIGN_OR_RETURN(std::vector<Value> items, Iterate(v));
  if (items.empty()) return Value::Undefined("No first item, sequence was empty.");
  return items.front();
}

Result<Value> FilterLast(Interpreter&, const Value& v, CallArgs& args) {
  LOOM_RETURN_IF_ERROR(BindArgs("last", args, {}).status());
  if (v.is_iterator()) return InvalidArgument("'generator' object is not reversible");
  if (!v.is_string() && !v.is_list() && !v.is_dict() && !v.is_undefined()) {
    return InvalidArgument("'{}' object is not reversible", TypeName(v));
  }
  LOOM_ASSIGN_OR_RETURN(std::vector<Value> items, Iterate(v));
  if (items.empty()) return Value::Undefined("No last item, sequence was empty.");
  return items.back();
}

Result<Value> FilterReverse(Interpreter&, const Value& v, CallArgs& args) {
  LOOM_RETURN_IF_ERROR(BindArgs("reverse", args, {}).status());
  if (v.is_string()) {
    std::u32string s = DecodeUtf8(v.str());
    std::reverse(s.begin(), s.end());
    return Value::String(EncodeUtf8(s), v.is_markup());
  }
  Result<std::vector<Value>> items = Iterate(v);
  if (!items.ok()) return InvalidArgument("argument must be iterable");
  std::reverse(items->begin(), items->end());
  // reversed(list) is an iterator; a generator is listed and reversed into a real list.
  if (v.is_iterator()) return Value::List(std::move(*items));
  return Iter(std::move(*items));
}

Result<Value> FilterJoin(Interpreter& in, const Value& v, CallArgs& args) {
  LOOM_ASSIGN_OR_RETURN(auto a, BindArgs("join", args, {"d", "attribute"}));
  std::string sep = a[0] ? ToStr(*a[0]) : "";
  LOOM_ASSIGN_OR_RETURN(std::vector<Value> items, Iterate(v));
  std::string out;
  for (size_t i = 0; i < items.size(); ++i) {
    Value item = items[i];
    if (a[1] && !a[1]->is_none()) {
      LOOM_ASSIGN_OR_RETURN(item, LookupAttribute(in, item, *a[1], std::nullopt, false));
    }
    if (i > 0) out += sep;
    out += ToStr(item);
    LOOM_RETURN_IF_ERROR(in.CheckSize(out.size()));
  }
  return Value::String(std::move(out));
}

Result<Value> FilterItems(Interpreter&, const Value& v, CallArgs& args) {
  LOOM_RETURN_IF_ERROR(BindArgs("items", args, {}).status());
  if (v.is_undefined()) return Iter({});
  if (!v.is_dict()) return InvalidArgument("Can only get item pairs from a mapping.");
  std::vector<Value> out;
  for (const auto& [k, val] : v.dict().entries) {
    out.push_back(Value::List({k, val}, SeqKind::kTuple));
  }
  return Iter(std::move(out));
}

Result<Value> FilterDictsort(Interpreter&, const Value& v, CallArgs& args) {
  LOOM_ASSIGN_OR_RETURN(auto a, BindArgs("dictsort", args, {"case_sensitive", "by", "reverse"}));
  bool case_sensitive = a[0] && Truthy(*a[0]);
  std::string by = a[1] ? ToStr(*a[1]) : "key";
  if (by != "key" && by != "value") {
    return InvalidArgument("You can only sort by either \"key\" or \"value\"");
  }
  if (!v.is_dict()) return InvalidArgument("'{}' object has no attribute 'items'", TypeName(v));
  std::vector<Value> items;
  std::vector<Value> keys;
  for (const auto& [k, val] : v.dict().entries) {
    items.push_back(Value::List({k, val}, SeqKind::kTuple));
    const Value& key = by == "key" ? k : val;
    keys.push_back(case_sensitive ? key : LowerIfString(key));
  }
  LOOM_RETURN_IF_ERROR(SortByKeys(items, keys, a[2] && Truthy(*a[2])));
  return Value::List(std::move(items));
}

Result<Value> FilterSort(Interpreter& in, const Value& v, CallArgs& args) {
  LOOM_ASSIGN_OR_RETURN(auto a, BindArgs("sort", args, {"reverse", "case_sensitive", "attribute"}));
  bool lower = !(a[1] && Truthy(*a[1]));
  LOOM_ASSIGN_OR_RETURN(std::vector<Value> items, Iterate(v));
  // make_multi_attrgetter: "a,b" sorts by a list of keys.
  std::vector<Value> attrs;
  if (a[2] && a[2]->is_string()) {
    std::string_view s = a[2]->str();
    size_t start = 0;
    while (true) {
      size_t comma = s.find(',', start);
      attrs.push_back(Value::String(
          std::string(s.substr(start, comma == std::string_view::npos ? comma : comma - start))));
      if (comma == std::string_view::npos) break;
      start = comma + 1;
    }
  } else {
    attrs.push_back(a[2] ? *a[2] : Value::None());
  }
  std::vector<Value> keys;
  for (const Value& item : items) {
    std::vector<Value> parts;
    for (const Value& attr : attrs) {
      LOOM_ASSIGN_OR_RETURN(Value k, LookupAttribute(in, item, attr, std::nullopt, lower));
      parts.push_back(std::move(k));
    }
    keys.push_back(Value::List(std::move(parts)));
  }
  LOOM_RETURN_IF_ERROR(SortByKeys(items, keys, a[0] && Truthy(*a[0])));
  return Value::List(std::move(items));
}

Result<Value> FilterUnique(Interpreter& in, const Value& v, CallArgs& args) {
  LOOM_ASSIGN_OR_RETURN(auto a, BindArgs("unique", args, {"case_sensitive", "attribute"}));
  bool lower = !(a[0] && Truthy(*a[0]));
  LOOM_ASSIGN_OR_RETURN(std::vector<Value> items, Iterate(v));
  std::vector<Value> seen;
  std::vector<Value> out;
  for (const Value& item : items) {
    LOOM_ASSIGN_OR_RETURN(
        Value key, LookupAttribute(in, item, a[1] ? *a[1] : Value::None(), std::nullopt, lower));
    if (!IsHashable(key)) return InvalidArgument("unhashable type: '{}'", TypeName(key));
    if (std::any_of(seen.begin(), seen.end(), [&](const Value& s) { return Equals(s, key); })) {
      continue;
    }
    seen.push_back(key);
    out.push_back(item);
  }
  return Iter(std::move(out));
}

Result<Value> FilterMin(Interpreter& in, const Value& v, CallArgs& args) {
  return MinOrMax(in, v, args, false);
}
Result<Value> FilterMax(Interpreter& in, const Value& v, CallArgs& args) {
  return MinOrMax(in, v, args, true);
}

Result<Value> FilterSum(Interpreter& in, const Value& v, CallArgs& args) {
  LOOM_ASSIGN_OR_RETURN(auto a, BindArgs("sum", args, {"attribute", "start"}));
  LOOM_ASSIGN_OR_RETURN(std::vector<Value> items, Iterate(v));
  Value total = a[1] ? *a[1] : Value::Int(0);
  for (const Value& item : items) {
    Value x = item;
    if (a[0] && !a[0]->is_none()) {
      LOOM_ASSIGN_OR_RETURN(x, LookupAttribute(in, item, *a[0], std::nullopt, false));
    }
    if (total.is_string()) {
      return InvalidArgument("sum() can't sum strings [use ''.join(seq) instead]");
    }
    LOOM_ASSIGN_OR_RETURN(total, BinaryOp(in, "+", total, x));
  }
  return total;
}

Result<Value> FilterMap(Interpreter& in, const Value& v, CallArgs& args) {
  if (!Truthy(v)) return Iter({});
  LOOM_ASSIGN_OR_RETURN(std::vector<Value> items, Iterate(v));
  std::vector<Value> out;
  out.reserve(items.size());
  if (args.positional.empty()) {
    std::optional<Value> attribute;
    std::optional<Value> dflt;
    for (const auto& [k, val] : args.keywords) {
      if (k == "attribute") {
        attribute = val;
      } else if (k == "default") {
        dflt = val;
      } else {
        return InvalidArgument("Unexpected keyword argument '{}'", k);
      }
    }
    if (!attribute) return InvalidArgument("map requires a filter argument");
    for (const Value& item : items) {
      LOOM_ASSIGN_OR_RETURN(Value x, LookupAttribute(in, item, *attribute, dflt, false));
      out.push_back(std::move(x));
    }
    return Iter(std::move(out));
  }
  if (!args.positional[0].is_string()) return InvalidArgument("map filter name must be a string");
  std::string name = args.positional[0].str();
  if (FindFilter(name) == nullptr) return InvalidArgument("No filter named '{}'.", name);
  CallArgs rest;
  rest.positional.assign(args.positional.begin() + 1, args.positional.end());
  rest.keywords = args.keywords;
  for (const Value& item : items) {
    CallArgs a = rest;
    LOOM_ASSIGN_OR_RETURN(Value x, in.ApplyFilter(name, item, a));
    out.push_back(std::move(x));
  }
  return Iter(std::move(out));
}

Result<Value> FilterSelect(Interpreter& in, const Value& v, CallArgs& args) {
  return SelectOrReject(in, v, args, true, false);
}
Result<Value> FilterReject(Interpreter& in, const Value& v, CallArgs& args) {
  return SelectOrReject(in, v, args, false, false);
}
Result<Value> FilterSelectattr(Interpreter& in, const Value& v, CallArgs& args) {
  return SelectOrReject(in, v, args, true, true);
}
Result<Value> FilterRejectattr(Interpreter& in, const Value& v, CallArgs& args) {
  return SelectOrReject(in, v, args, false, true);
}

Result<Value> FilterBatch(Interpreter&, const Value& v, CallArgs& args) {
  LOOM_ASSIGN_OR_RETURN(auto a, BindArgs("batch", args, {"linecount", "fill_with"}, 1));
  if (!a[0]->is_int() && !a[0]->is_bool()) return InvalidArgument("batch size must be an integer");
  int64_t n = a[0]->as_int();
  LOOM_ASSIGN_OR_RETURN(std::vector<Value> items, Iterate(v));
  std::vector<Value> out;
  std::vector<Value> tmp;
  for (const Value& item : items) {
    if (static_cast<int64_t>(tmp.size()) == n) {
      out.push_back(Value::List(std::move(tmp)));
      tmp.clear();
    }
    tmp.push_back(item);
  }
  if (!tmp.empty()) {
    if (a[1] && !a[1]->is_none()) {
      while (static_cast<int64_t>(tmp.size()) < n) tmp.push_back(*a[1]);
    }
    out.push_back(Value::List(std::move(tmp)));
  }
  return Iter(std::move(out));
}

Result<Value> FilterSlice(Interpreter&, const Value& v, CallArgs& args) {
  LOOM_ASSIGN_OR_RETURN(auto a, BindArgs("slice", args, {"slices", "fill_with"}, 1));
  if (!a[0]->is_int() || a[0]->as_int() <= 0) {
    return InvalidArgument("slices must be a positive integer");
  }
  int64_t slices = a[0]->as_int();
  if (slices > 100000) return InvalidArgument("too many slices");
  LOOM_ASSIGN_OR_RETURN(std::vector<Value> seq, Iterate(v));
  auto length = static_cast<int64_t>(seq.size());
  int64_t per = length / slices;
  int64_t extra = length % slices;
  int64_t offset = 0;
  std::vector<Value> out;
  for (int64_t k = 0; k < slices; ++k) {
    int64_t start = offset + k * per;
    if (k < extra) ++offset;
    int64_t end = offset + (k + 1) * per;
    std::vector<Value> tmp(seq.begin() + start, seq.begin() + end);
    if (a[1] && !a[1]->is_none() && k >= extra) tmp.push_back(*a[1]);
    out.push_back(Value::List(std::move(tmp)));
  }
  return Iter(std::move(out));
}

Result<Value> FilterGroupby(Interpreter& in, const Value& v, CallArgs& args) {
  LOOM_ASSIGN_OR_RETURN(auto a,
                        BindArgs("groupby", args, {"attribute", "default", "case_sensitive"}, 1));
  bool lower = !(a[2] && Truthy(*a[2]));
  LOOM_ASSIGN_OR_RETURN(std::vector<Value> items, Iterate(v));
  std::vector<Value> keys;
  for (const Value& item : items) {
    LOOM_ASSIGN_OR_RETURN(Value k, LookupAttribute(in, item, *a[0], a[1], lower));
    keys.push_back(std::move(k));
  }
  std::vector<Value> sorted_keys = keys;
  std::vector<Value> order;
  for (size_t i = 0; i < items.size(); ++i) order.push_back(Value::Int(static_cast<int64_t>(i)));
  LOOM_RETURN_IF_ERROR(SortByKeys(order, keys, false));
  std::vector<Value> groups;
  std::vector<Value> current;
  Value current_key;
  for (const Value& idx : order) {
    size_t i = static_cast<size_t>(idx.as_int());
    if (!current.empty() && !Equals(keys[i], current_key)) {
      LOOM_ASSIGN_OR_RETURN(Value grouper, LookupAttribute(in, current[0], *a[0], a[1], false));
      groups.push_back(Value::List({grouper, Value::List(std::move(current))}, SeqKind::kTuple));
      current.clear();
    }
    current_key = keys[i];
    current.push_back(items[i]);
  }
  if (!current.empty()) {
    LOOM_ASSIGN_OR_RETURN(Value grouper, LookupAttribute(in, current[0], *a[0], a[1], false));
    groups.push_back(Value::List({grouper, Value::List(std::move(current))}, SeqKind::kTuple));
  }
  return Value::List(std::move(groups));
}

}  // namespace loom::jinja
