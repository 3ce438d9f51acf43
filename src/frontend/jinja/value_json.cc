#include "frontend/jinja/value_json.h"

#include <fmt/core.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "frontend/jinja/unicode.h"

namespace loom::jinja {
namespace {

Result<Value> Convert(const nlohmann::ordered_json& j, int depth) {
  if (depth > kMaxValueDepth) {
    return InvalidArgument("template context is nested deeper than {} levels", kMaxValueDepth);
  }
  switch (j.type()) {
    case nlohmann::ordered_json::value_t::null:
    case nlohmann::ordered_json::value_t::discarded:
      return Value::None();
    case nlohmann::ordered_json::value_t::boolean:
      return Value::Bool(j.get<bool>());
    case nlohmann::ordered_json::value_t::number_integer:
      return Value::Int(j.get<int64_t>());
    case nlohmann::ordered_json::value_t::number_unsigned: {
      uint64_t u = j.get<uint64_t>();
      if (u > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
        return Value::Float(static_cast<double>(u));
      }
      return Value::Int(static_cast<int64_t>(u));
    }
    case nlohmann::ordered_json::value_t::number_float:
      return Value::Float(j.get<double>());
    case nlohmann::ordered_json::value_t::string:
      return Value::String(j.get<std::string>());
    case nlohmann::ordered_json::value_t::binary:
      return InvalidArgument("binary JSON values are not supported in a template context");
    case nlohmann::ordered_json::value_t::array: {
      std::vector<Value> items;
      items.reserve(j.size());
      for (const auto& item : j) {
        LOOM_ASSIGN_OR_RETURN(Value v, Convert(item, depth + 1));
        items.push_back(std::move(v));
      }
      return Value::List(std::move(items));
    }
    case nlohmann::ordered_json::value_t::object: {
      auto dict = std::make_shared<DictData>();
      dict->entries.reserve(j.size());
      for (const auto& [key, item] : j.items()) {
        LOOM_ASSIGN_OR_RETURN(Value v, Convert(item, depth + 1));
        // JSON object keys are unique, so no lookup is needed.
        dict->entries.emplace_back(Value::String(key), std::move(v));
      }
      return Value::Dict(std::move(dict));
    }
  }
  return Value::None();
}

void AppendJsonString(std::string& out, std::string_view s, bool ensure_ascii) {
  out.push_back('"');
  for (char32_t c : DecodeUtf8(s)) {
    switch (c) {
      case U'"':
        out += "\\\"";
        break;
      case U'\\':
        out += "\\\\";
        break;
      case U'\n':
        out += "\\n";
        break;
      case U'\r':
        out += "\\r";
        break;
      case U'\t':
        out += "\\t";
        break;
      case U'\b':
        out += "\\b";
        break;
      case U'\f':
        out += "\\f";
        break;
      default:
        if (c < 0x20) {
          out += fmt::format("\\u{:04x}", static_cast<unsigned>(c));
        } else if (ensure_ascii && c > 0x7F) {
          if (c >= 0x10000) {
            char32_t v = c - 0x10000;
            out += fmt::format("\\u{:04x}\\u{:04x}", static_cast<unsigned>(0xD800 | (v >> 10)),
                               static_cast<unsigned>(0xDC00 | (v & 0x3FF)));
          } else {
            out += fmt::format("\\u{:04x}", static_cast<unsigned>(c));
          }
        } else {
          AppendUtf8(out, c);
        }
    }
  }
  out.push_back('"');
}

std::string JsonFloat(double d) {
  if (std::isnan(d)) return "NaN";
  if (std::isinf(d)) return d > 0 ? "Infinity" : "-Infinity";
  return FloatRepr(d);
}

// The string json.dumps uses for a dict key, or an error for unsupported key types.
Result<std::string> KeyString(const Value& k) {
  switch (k.kind()) {
    case Value::Kind::kString:
      return k.str();
    case Value::Kind::kBool:
      return std::string(k.as_bool() ? "true" : "false");
    case Value::Kind::kNone:
      return std::string("null");
    case Value::Kind::kInt:
      return std::to_string(k.as_int());
    case Value::Kind::kFloat:
      return JsonFloat(k.as_float());
    default:
      return InvalidArgument("keys must be str, int, float, bool or None, not {}", TypeName(k));
  }
}

class Dumper {
 public:
  explicit Dumper(const DumpsOptions& o) : o_(o) {
    if (o.separators) {
      item_sep_ = o.separators->first;
      key_sep_ = o.separators->second;
    } else {
      item_sep_ = o.indent ? "," : ", ";
      key_sep_ = ": ";
    }
  }

  Status Dump(const Value& v, int level) {
    if (level > kMaxValueDepth) return InvalidArgument("tojson: value nested too deeply");
    switch (v.kind()) {
      case Value::Kind::kNone:
        out_ += "null";
        return Status::Ok();
      case Value::Kind::kBool:
        out_ += v.as_bool() ? "true" : "false";
        return Status::Ok();
      case Value::Kind::kInt:
        out_ += std::to_string(v.as_int());
        return Status::Ok();
      case Value::Kind::kFloat:
        out_ += JsonFloat(v.as_float());
        return Status::Ok();
      case Value::Kind::kString:
        AppendJsonString(out_, v.str(), o_.ensure_ascii);
        return Status::Ok();
      case Value::Kind::kList:
        if (!v.is_sequence()) break;
        return DumpList(v.list().items, level);
      case Value::Kind::kDict:
        return DumpDict(v.dict(), level);
      default:
        break;
    }
    return InvalidArgument("Object of type {} is not JSON serializable", TypeName(v));
  }

  std::string Take() { return std::move(out_); }

 private:
  void Newline(int level) {
    if (!o_.indent) return;
    out_.push_back('\n');
    for (int i = 0; i < level; ++i) out_ += *o_.indent;
  }

  Status DumpList(const std::vector<Value>& items, int level) {
    if (items.empty()) {
      out_ += "[]";
      return Status::Ok();
    }
    out_.push_back('[');
    Newline(level + 1);
    for (size_t i = 0; i < items.size(); ++i) {
      if (i > 0) {
        out_ += item_sep_;
        Newline(level + 1);
      }
      LOOM_RETURN_IF_ERROR(Dump(items[i], level + 1));
    }
    Newline(level);
    out_.push_back(']');
    return Status::Ok();
  }

  Status DumpDict(const DictData& dict, int level) {
    if (dict.entries.empty()) {
      out_ += "{}";
      return Status::Ok();
    }
    std::vector<const std::pair<Value, Value>*> entries;
    for (const auto& e : dict.entries) entries.push_back(&e);
    if (o_.sort_keys) {
      Status error;
      std::stable_sort(entries.begin(), entries.end(), [&](const auto* a, const auto* b) {
        Result<bool> lt = Less(a->first, b->first);
        if (!lt.ok()) {
          if (error.ok()) error = lt.status();
          return false;
        }
        return *lt;
      });
      LOOM_RETURN_IF_ERROR(error);
    }
    out_.push_back('{');
    Newline(level + 1);
    bool first = true;
    for (const auto* e : entries) {
      if (!first) {
        out_ += item_sep_;
        Newline(level + 1);
      }
      first = false;
      LOOM_ASSIGN_OR_RETURN(std::string key, KeyString(e->first));
      AppendJsonString(out_, key, o_.ensure_ascii);
      out_ += key_sep_;
      LOOM_RETURN_IF_ERROR(Dump(e->second, level + 1));
    }
    Newline(level);
    out_.push_back('}');
    return Status::Ok();
  }

  const DumpsOptions& o_;
  std::string item_sep_;
  std::string key_sep_;
  std::string out_;
};

}  // namespace

Result<Value> FromJson(const nlohmann::ordered_json& json) { return Convert(json, 0); }

Result<std::string> PyJsonDumps(const Value& v, const DumpsOptions& options) {
  Dumper d(options);
  LOOM_RETURN_IF_ERROR(d.Dump(v, 0));
  return d.Take();
}

}  // namespace loom::jinja
