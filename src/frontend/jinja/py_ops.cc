#include "frontend/jinja/py_ops.h"

#include <fmt/core.h>

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <limits>

#include "frontend/jinja/interpreter.h"
#include "frontend/jinja/unicode.h"

namespace loom::jinja {
namespace {

Status Unsupported(std::string_view op, const Value& a, const Value& b) {
  return InvalidArgument("unsupported operand type(s) for {}: '{}' and '{}'", op, TypeName(a),
                         TypeName(b));
}

Status Overflow() { return InvalidArgument("integer overflow in template arithmetic"); }

// CPython's float divmod, which fixes the sign of the remainder to the divisor's.
void FloatDivMod(double a, double b, double* floordiv, double* mod) {
  double m = std::fmod(a, b);
  double div = (a - m) / b;
  if (m != 0) {
    if ((b < 0) != (m < 0)) {
      m += b;
      div -= 1.0;
    }
  } else {
    m = std::copysign(0.0, b);
  }
  double fd;
  if (div != 0) {
    fd = std::floor(div);
    if (div - fd > 0.5) fd += 1.0;
  } else {
    fd = std::copysign(0.0, a / b);
  }
  *floordiv = fd;
  *mod = m;
}

Result<Value> IntPow(int64_t base, int64_t exp) {
  int64_t result = 1;
  int64_t b = base;
  while (exp > 0) {
    if (exp & 1) {
      if (__builtin_mul_overflow(result, b, &result)) return Overflow();
    }
    exp >>= 1;
    if (exp > 0 && __builtin_mul_overflow(b, b, &b)) return Overflow();
  }
  return Value::Int(result);
}

Result<Value> NumericOp(std::string_view op, const Value& a, const Value& b) {
  if (!a.is_float() && !b.is_float()) {
    int64_t x = a.as_int();
    int64_t y = b.as_int();
    int64_t r = 0;
    if (op == "+") {
      if (__builtin_add_overflow(x, y, &r)) return Overflow();
      return Value::Int(r);
    }
    if (op == "-") {
      if (__builtin_sub_overflow(x, y, &r)) return Overflow();
      return Value::Int(r);
    }
    if (op == "*") {
      if (__builtin_mul_overflow(x, y, &r)) return Overflow();
      return Value::Int(r);
    }
    if (op == "/") {
      if (y == 0) return InvalidArgument("division by zero");
      return Value::Float(static_cast<double>(x) / static_cast<double>(y));
    }
    if (op == "//" || op == "%") {
      if (y == 0) {
        if (op == "%") return InvalidArgument("integer modulo by zero");
        return InvalidArgument("integer division or modulo by zero");
      }
      if (y == -1) {  // avoids INT64_MIN / -1
        if (op == "%") return Value::Int(0);
        if (__builtin_sub_overflow(int64_t{0}, x, &r)) return Overflow();
        return Value::Int(r);
      }
      int64_t q = x / y;
      int64_t m = x % y;
      if (m != 0 && ((m < 0) != (y < 0))) {
        q -= 1;
        m += y;
      }
      return Value::Int(op == "//" ? q : m);
    }
    if (op == "**") {
      if (y >= 0) return IntPow(x, y);
      if (x == 0) return InvalidArgument("0.0 cannot be raised to a negative power");
      return Value::Float(std::pow(static_cast<double>(x), static_cast<double>(y)));
    }
    return InvalidArgument("unknown operator {}", op);
  }
  double x = a.as_float();
  double y = b.as_float();
  if (op == "+") return Value::Float(x + y);
  if (op == "-") return Value::Float(x - y);
  if (op == "*") return Value::Float(x * y);
  if (op == "/") {
    if (y == 0) return InvalidArgument("float division by zero");
    return Value::Float(x / y);
  }
  if (op == "//" || op == "%") {
    if (y == 0) {
      if (op == "%") return InvalidArgument("float modulo");
      return InvalidArgument("float floor division by zero");
    }
    double fd = 0;
    double m = 0;
    FloatDivMod(x, y, &fd, &m);
    return Value::Float(op == "//" ? fd : m);
  }
  if (op == "**") {
    if (x == 0 && y < 0) return InvalidArgument("0.0 cannot be raised to a negative power");
    if (x < 0 && std::floor(y) != y) {
      return InvalidArgument("complex numbers are not supported in templates");
    }
    double r = std::pow(x, y);
    if (std::isinf(r) && std::isfinite(x) && std::isfinite(y)) {
      return InvalidArgument("(34, 'Numerical result out of range')");
    }
    return Value::Float(r);
  }
  return InvalidArgument("unknown operator {}", op);
}

Result<Value> Repeat(Interpreter& in, const Value& seq, int64_t n) {
  if (n < 0) n = 0;
  // Repeating nothing is nothing, however large n is (and must not loop n times).
  if (seq.is_string() && seq.str().empty()) return seq;
  if (seq.is_list() && seq.list().items.empty()) return Value::List({}, seq.list().kind);
  if (seq.is_string()) {
    size_t total = 0;
    if (__builtin_mul_overflow(seq.str().size(), static_cast<size_t>(n), &total)) {
      return in.CheckSize(std::numeric_limits<size_t>::max());
    }
    LOOM_RETURN_IF_ERROR(in.CheckSize(total));
    std::string out;
    out.reserve(total);
    for (int64_t i = 0; i < n; ++i) out += seq.str();
    return Value::String(std::move(out), seq.is_markup());
  }
  const auto& items = seq.list().items;
  size_t total = 0;
  if (__builtin_mul_overflow(items.size(), static_cast<size_t>(n), &total)) {
    return in.CheckSize(std::numeric_limits<size_t>::max());
  }
  LOOM_RETURN_IF_ERROR(in.CheckSize(total));  // at least a byte per element once rendered
  std::vector<Value> out;
  out.reserve(total);
  for (int64_t i = 0; i < n; ++i) out.insert(out.end(), items.begin(), items.end());
  return Value::List(std::move(out), seq.list().kind);
}

}  // namespace

Result<Value> BinaryOp(Interpreter& in, std::string_view op, const Value& a, const Value& b) {
  if (op == "%" && a.is_string() && b.is_undefined()) {
    // str % Undefined: Undefined has __getitem__, so CPython treats it as a mapping argument.
    LOOM_ASSIGN_OR_RETURN(std::string s, PercentFormat(a.str(), b));
    return Value::String(std::move(s), a.is_markup());
  }
  if (a.is_undefined()) return InvalidArgument("{}", a.undefined_message());
  if (b.is_undefined()) return InvalidArgument("{}", b.undefined_message());
  if (a.is_number() && b.is_number()) return NumericOp(op, a, b);
  if (op == "+") {
    if (a.is_string() && b.is_string()) {
      // markupsafe: Markup + str escapes the plain operand and stays Markup.
      bool markup = a.is_markup() || b.is_markup();
      std::string left = (markup && !a.is_markup()) ? HtmlEscape(a.str()) : a.str();
      std::string right = (markup && !b.is_markup()) ? HtmlEscape(b.str()) : b.str();
      LOOM_RETURN_IF_ERROR(in.CheckSize(left.size() + right.size()));
      return Value::String(left + right, markup);
    }
    if (a.is_sequence() && b.is_sequence() && a.list().kind == b.list().kind) {
      std::vector<Value> items = a.list().items;
      items.insert(items.end(), b.list().items.begin(), b.list().items.end());
      return Value::List(std::move(items), a.list().kind);
    }
    if (a.is_string() || a.is_sequence()) {
      return InvalidArgument("can only concatenate {} (not \"{}\") to {}", TypeName(a), TypeName(b),
                             TypeName(a));
    }
    return Unsupported(op, a, b);
  }
  if (op == "*") {
    if ((a.is_string() || a.is_sequence()) && (b.is_int() || b.is_bool())) {
      return Repeat(in, a, b.as_int());
    }
    if ((b.is_string() || b.is_sequence()) && (a.is_int() || a.is_bool())) {
      return Repeat(in, b, a.as_int());
    }
    if (a.is_string() || a.is_sequence() || b.is_string() || b.is_sequence()) {
      return InvalidArgument("can't multiply sequence by non-int of type '{}'",
                             TypeName(a.is_string() || a.is_sequence() ? b : a));
    }
    return Unsupported(op, a, b);
  }
  if (op == "%" && a.is_string()) {
    LOOM_ASSIGN_OR_RETURN(std::string s, PercentFormat(a.str(), b));
    LOOM_RETURN_IF_ERROR(in.CheckSize(s.size()));
    return Value::String(std::move(s), a.is_markup());
  }
  return Unsupported(op, a, b);
}

Result<Value> UnaryOp(char op, const Value& v) {
  if (v.is_undefined()) return InvalidArgument("{}", v.undefined_message());
  if (v.is_float()) return Value::Float(op == '-' ? -v.as_float() : v.as_float());
  if (v.is_int() || v.is_bool()) {
    if (op == '+') return Value::Int(v.as_int());
    int64_t r = 0;
    if (__builtin_sub_overflow(int64_t{0}, v.as_int(), &r)) return Overflow();
    return Value::Int(r);
  }
  return InvalidArgument("bad operand type for unary {}: '{}'", op, TypeName(v));
}

Result<Value> SliceValue(const Value& obj, const Value& start_v, const Value& stop_v,
                         const Value& step_v) {
  if (!obj.is_string() && !obj.is_sequence()) {
    if (obj.is_dict()) return InvalidArgument("unhashable type: 'slice'");
    return InvalidArgument("'{}' object is not subscriptable", TypeName(obj));
  }
  for (const Value* b : {&start_v, &stop_v, &step_v}) {
    if (!b->is_none() && !b->is_int() && !b->is_bool()) {
      return InvalidArgument("slice indices must be integers or None or have an __index__ method");
    }
  }
  int64_t step = step_v.is_none() ? 1 : step_v.as_int();
  if (step == 0) return InvalidArgument("slice step cannot be zero");
  std::u32string cps;
  int64_t len = 0;
  if (obj.is_string()) {
    cps = DecodeUtf8(obj.str());
    len = static_cast<int64_t>(cps.size());
  } else {
    len = static_cast<int64_t>(obj.list().items.size());
  }
  // CPython's PySlice_AdjustIndices.
  auto adjust = [&](const Value& v, int64_t dflt) {
    if (v.is_none()) return dflt;
    int64_t i = v.as_int();
    if (i < 0) {
      i = i < -len ? (step < 0 ? -1 : 0) : i + len;
    } else if (i >= len) {
      i = step < 0 ? len - 1 : len;
    }
    return i;
  };
  int64_t start = adjust(start_v, step < 0 ? len - 1 : 0);
  int64_t stop = adjust(stop_v, step < 0 ? -1 : len);
  std::vector<int64_t> idx;
  for (int64_t i = start; step > 0 ? i < stop : i > stop; i += step) idx.push_back(i);
  if (obj.is_string()) {
    std::u32string out;
    for (int64_t i : idx) out.push_back(cps[static_cast<size_t>(i)]);
    return Value::String(EncodeUtf8(out), obj.is_markup());
  }
  std::vector<Value> out;
  out.reserve(idx.size());
  for (int64_t i : idx) out.push_back(obj.list().items[static_cast<size_t>(i)]);
  return Value::List(std::move(out), obj.list().kind);
}

std::optional<int64_t> ParsePyInt(std::string_view s, int base) {
  std::u32string cps = DecodeUtf8(s);
  size_t b = 0;
  size_t e = cps.size();
  while (b < e && IsSpace(cps[b])) ++b;
  while (e > b && IsSpace(cps[e - 1])) --e;
  std::string digits;
  bool neg = false;
  size_t i = b;
  if (i < e && (cps[i] == U'+' || cps[i] == U'-')) neg = cps[i++] == U'-';
  if (base == 16 && i + 1 < e && cps[i] == U'0' && (cps[i + 1] | 0x20) == U'x') i += 2;
  bool prev_underscore = true;  // no leading underscore
  for (; i < e; ++i) {
    char32_t c = cps[i];
    if (c == U'_') {
      if (prev_underscore) return std::nullopt;
      prev_underscore = true;
      continue;
    }
    if (c > 0x7F) return std::nullopt;
    digits.push_back(static_cast<char>(c));
    prev_underscore = false;
  }
  if (digits.empty() || prev_underscore) return std::nullopt;
  errno = 0;
  char* end = nullptr;
  long long v = std::strtoll(digits.c_str(), &end, base);
  if (errno == ERANGE || end != digits.c_str() + digits.size()) return std::nullopt;
  return neg ? -v : v;
}

std::optional<double> ParsePyFloat(std::string_view s) {
  std::u32string cps = DecodeUtf8(s);
  size_t b = 0;
  size_t e = cps.size();
  while (b < e && IsSpace(cps[b])) ++b;
  while (e > b && IsSpace(cps[e - 1])) --e;
  std::string text;
  for (size_t i = b; i < e; ++i) {
    if (cps[i] > 0x7F) return std::nullopt;
    if (cps[i] == U'_') {
      // Python accepts single underscores between digits.
      if (i == b || i + 1 == e || !IsDigit(cps[i - 1]) || !IsDigit(cps[i + 1])) return std::nullopt;
      continue;
    }
    text.push_back(static_cast<char>(cps[i]));
  }
  if (text.empty()) return std::nullopt;
  std::string lower;
  for (char c : text) {
    lower.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  }
  std::string body = (lower[0] == '+' || lower[0] == '-') ? lower.substr(1) : lower;
  if (body == "inf" || body == "infinity" || body == "nan") {
    double v = body == "nan" ? std::nan("") : std::numeric_limits<double>::infinity();
    return lower[0] == '-' ? -v : v;
  }
  // Reject forms strtod accepts but Python does not (hex floats, "infinity" spellings handled).
  for (char c : body) {
    if (!(std::isdigit(static_cast<unsigned char>(c)) || c == '.' || c == 'e' || c == '+' ||
          c == '-')) {
      return std::nullopt;
    }
  }
  char* end = nullptr;
  double v = std::strtod(text.c_str(), &end);
  if (end != text.c_str() + text.size()) return std::nullopt;
  return v;
}

}  // namespace loom::jinja
