// Shared helpers and the filter implementations split across filters.cc (strings, numbers,
// JSON) and filters_seq.cc (sequences and mappings).
#pragma once

#include <optional>
#include <string_view>

#include "frontend/jinja/filters.h"
#include "frontend/jinja/interpreter.h"

namespace loom::jinja {

// markupsafe.soft_str: strings (and Markup) unchanged, anything else str().
Value SoftStr(const Value& v);

// jinja2's make_attrgetter: "a.b.0" looks up item a, then b, then index 0 via getitem.
// Missing lookups become `dflt` when given. lower: lowercase string results (ignore_case).
Result<Value> LookupAttribute(Interpreter& in, const Value& item, const Value& attribute,
                              const std::optional<Value>& dflt, bool lower);

// Sequence and mapping filters (filters_seq.cc).
Result<Value> FilterBatch(Interpreter& in, const Value& v, CallArgs& args);
Result<Value> FilterDictsort(Interpreter& in, const Value& v, CallArgs& args);
Result<Value> FilterFirst(Interpreter& in, const Value& v, CallArgs& args);
Result<Value> FilterGroupby(Interpreter& in, const Value& v, CallArgs& args);
Result<Value> FilterItems(Interpreter& in, const Value& v, CallArgs& args);
Result<Value> FilterJoin(Interpreter& in, const Value& v, CallArgs& args);
Result<Value> FilterLast(Interpreter& in, const Value& v, CallArgs& args);
Result<Value> FilterLength(Interpreter& in, const Value& v, CallArgs& args);
Result<Value> FilterList(Interpreter& in, const Value& v, CallArgs& args);
Result<Value> FilterMap(Interpreter& in, const Value& v, CallArgs& args);
Result<Value> FilterMax(Interpreter& in, const Value& v, CallArgs& args);
Result<Value> FilterMin(Interpreter& in, const Value& v, CallArgs& args);
Result<Value> FilterReject(Interpreter& in, const Value& v, CallArgs& args);
Result<Value> FilterRejectattr(Interpreter& in, const Value& v, CallArgs& args);
Result<Value> FilterReverse(Interpreter& in, const Value& v, CallArgs& args);
Result<Value> FilterSelect(Interpreter& in, const Value& v, CallArgs& args);
Result<Value> FilterSelectattr(Interpreter& in, const Value& v, CallArgs& args);
Result<Value> FilterSlice(Interpreter& in, const Value& v, CallArgs& args);
Result<Value> FilterSort(Interpreter& in, const Value& v, CallArgs& args);
Result<Value> FilterSum(Interpreter& in, const Value& v, CallArgs& args);
Result<Value> FilterUnique(Interpreter& in, const Value& v, CallArgs& args);

}  // namespace loom::jinja
