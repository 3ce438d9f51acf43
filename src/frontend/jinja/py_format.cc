// Python's two string formatting mini-languages: printf-style `str % args` (also the |format
// filter) and str.format(). Chat templates use only simple fields; the common flags, width,
// precision and the s/r/d/i/f/e/g/x/o conversions are supported.
#include <fmt/core.h>

#include <cmath>
#include <cstdio>

#include "frontend/jinja/interpreter.h"
#include "frontend/jinja/py_ops.h"
#include "frontend/jinja/unicode.h"

namespace loom::jinja {
namespace {

// C printf of one number with a Python-compatible conversion spec.
std::string CFormat(const std::string& spec, double v) {
  char buf[512];
  std::snprintf(buf, sizeof(buf), spec.c_str(), v);
  return buf;
}

std::string Pad(std::string s, size_t width, char32_t fill, char align) {
  size_t n = CountCodepoints(s);
  if (n >= width) return s;
  size_t pad = width - n;
  std::string f;
  AppendUtf8(f, fill);
  auto rep = [&](size_t k) {
    std::string r;
    for (size_t i = 0; i < k; ++i) r += f;
    return r;
  };
  if (align == '<') return s + rep(pad);
  if (align == '^') return rep(pad / 2) + s + rep(pad - pad / 2);
  if (align == '=' && !s.empty() && (s[0] == '-' || s[0] == '+' || s[0] == ' ')) {
    return s.substr(0, 1) + rep(pad) + s.substr(1);
  }
  return rep(pad) + s;
}

std::string TruncateCodepoints(const std::string& s, size_t n) {
  std::u32string cps = DecodeUtf8(s);
  if (cps.size() <= n) return s;
  return EncodeUtf8(std::u32string_view(cps).substr(0, n));
}

Result<double> AsReal(const Value& v, char conv) {
  if (v.is_number()) return v.as_float();
  return InvalidArgument("must be real number, not {}", TypeName(v));
}

// Python format(value, spec) (format-spec mini-language).
Result<std::string> FormatSpec(const Value& v, std::string_view spec) {
  if (spec.empty()) return ToStr(v);
  std::u32string s = DecodeUtf8(spec);
  size_t i = 0;
  char32_t fill = U' ';
  char align = 0;
  auto is_align = [](char32_t c) { return c == U'<' || c == U'>' || c == U'^' || c == U'='; };
  if (s.size() >= 2 && is_align(s[1])) {
    fill = s[0];
    align = static_cast<char>(s[1]);
    i = 2;
  } else if (!s.empty() && is_align(s[0])) {
    align = static_cast<char>(s[0]);
    i = 1;
  }
  char sign = '-';
  if (i < s.size() && (s[i] == U'+' || s[i] == U'-' || s[i] == U' ')) {
    sign = static_cast<char>(s[i++]);
  }
  bool alt = false;
  if (i < s.size() && s[i] == U'#') {
    alt = true;
    ++i;
  }
  if (i < s.size() && s[i] == U'0') {
    if (align == 0) {
      fill = U'0';
      align = '=';
    }
    ++i;
  }
  size_t width = 0;
  while (i < s.size() && s[i] >= U'0' && s[i] <= U'9') width = width * 10 + (s[i++] - U'0');
  bool grouping = false;
  if (i < s.size() && (s[i] == U',' || s[i] == U'_')) {
    grouping = true;
    ++i;
  }
  int precision = -1;
  if (i < s.size() && s[i] == U'.') {
    ++i;
    precision = 0;
    while (i < s.size() && s[i] >= U'0' && s[i] <= U'9') {
      precision = precision * 10 + (s[i++] - U'0');
    }
  }
  char type = 0;
  if (i < s.size()) type = static_cast<char>(s[i++]);
  if (i != s.size()) return InvalidArgument("Invalid format specifier");
  std::string body;
  if (v.is_string() || v.is_undefined()) {
    if (type != 0 && type != 's') {
      return InvalidArgument("Unknown format code '{}' for object of type 'str'", type);
    }
    body = v.is_string() ? v.str() : "";
    if (precision >= 0) body = TruncateCodepoints(body, static_cast<size_t>(precision));
    return Pad(body, width, fill, align ? align : '<');
  }
  if (!v.is_number()) {
    return InvalidArgument("unsupported format string passed to {}.__format__", TypeName(v));
  }
  bool integral =
      (v.is_int() || v.is_bool()) && (type == 0 || type == 'd' || type == 'x' || type == 'X' ||
                                      type == 'o' || type == 'b' || type == 'n' || type == 'c');
  std::string sign_prefix;
  if (integral) {
    int64_t n = v.as_int();
    uint64_t mag = n < 0 ? 0 - static_cast<uint64_t>(n) : static_cast<uint64_t>(n);
    if (type == 'x' || type == 'X') {
      body = type == 'x' ? fmt::format("{:x}", mag) : fmt::format("{:X}", mag);
      if (alt) body = (type == 'x' ? "0x" : "0X") + body;
    } else if (type == 'o') {
      body = fmt::format("{:o}", mag);
      if (alt) body = "0o" + body;
    } else if (type == 'b') {
      body = fmt::format("{:b}", mag);
      if (alt) body = "0b" + body;
    } else if (type == 'c') {
      if (n < 0 || n > 0x10FFFF) return InvalidArgument("%c arg not in range(0x110000)");
      AppendUtf8(body, static_cast<char32_t>(mag));
    } else {
      body = std::to_string(mag);
      if (grouping) {
        std::string g;
        for (size_t k = 0; k < body.size(); ++k) {
          if (k > 0 && (body.size() - k) % 3 == 0) g.push_back(',');
          g.push_back(body[k]);
        }
        body = g;
      }
    }
    if (n < 0 || sign != '-') sign_prefix.push_back(n < 0 ? '-' : sign);
  } else {
    double d = v.as_float();
    double mag = std::fabs(d);
    int p = precision < 0 ? 6 : precision;
    if (type == 0 && precision < 0) {
      body = FloatRepr(mag);
    } else if (type == 'f' || type == 'F') {
      body = CFormat(fmt::format("%.{}f", p), mag);
    } else if (type == 'e' || type == 'E') {
      body = CFormat(fmt::format("%.{}{}", p, type), mag);
    } else if (type == 'g' || type == 'G' || type == 0) {
      body = CFormat(fmt::format("%.{}{}", p == 0 ? 1 : p, type == 'G' ? 'G' : 'g'), mag);
    } else if (type == '%') {
      body = CFormat(fmt::format("%.{}f", p), mag * 100) + "%";
    } else {
      return InvalidArgument("Unknown format code '{}' for object of type 'float'", type);
    }
    if (std::signbit(d) || sign != '-') sign_prefix.push_back(std::signbit(d) ? '-' : sign);
  }
  return Pad(sign_prefix + body, width, fill, align ? align : '>');
}

}  // namespace

Result<std::string> PercentFormat(std::string_view fmt_str, const Value& args) {
  std::vector<Value> positional;
  const DictData* mapping = nullptr;
  // CPython treats any non-tuple, non-str argument with __getitem__ as a mapping: it never
  // complains about unconverted arguments for those.
  bool mapping_like = false;
  if (args.is_list() && args.list().kind == SeqKind::kTuple) {
    positional = args.list().items;
  } else {
    if (args.is_dict()) mapping = &args.dict();
    mapping_like = args.is_dict() || args.is_sequence() || args.is_undefined();
    positional.push_back(args);
  }
  size_t next = 0;
  bool used_mapping = false;
  std::string out;
  for (size_t i = 0; i < fmt_str.size(); ++i) {
    char c = fmt_str[i];
    if (c != '%') {
      out.push_back(c);
      continue;
    }
    if (++i >= fmt_str.size()) return InvalidArgument("incomplete format");
    std::optional<Value> arg;
    if (fmt_str[i] == '(') {
      size_t close = fmt_str.find(')', i);
      if (close == std::string_view::npos) return InvalidArgument("incomplete format key");
      if (mapping == nullptr) return InvalidArgument("format requires a mapping");
      const Value* v = mapping->Find(fmt_str.substr(i + 1, close - i - 1));
      if (v == nullptr) {
        return InvalidArgument("'{}'", fmt_str.substr(i + 1, close - i - 1));
      }
      arg = *v;
      used_mapping = true;
      i = close + 1;
    }
    std::string flags;
    while (i < fmt_str.size() &&
           std::string_view("-+ #0").find(fmt_str[i]) != std::string_view::npos) {
      flags.push_back(fmt_str[i++]);
    }
    std::string width;
    while (i < fmt_str.size() && std::isdigit(static_cast<unsigned char>(fmt_str[i]))) {
      width.push_back(fmt_str[i++]);
    }
    std::string precision;
    if (i < fmt_str.size() && fmt_str[i] == '.') {
      precision = ".";
      ++i;
      while (i < fmt_str.size() && std::isdigit(static_cast<unsigned char>(fmt_str[i]))) {
        precision.push_back(fmt_str[i++]);
      }
    }
    while (i < fmt_str.size() && (fmt_str[i] == 'h' || fmt_str[i] == 'l' || fmt_str[i] == 'L')) ++i;
    if (i >= fmt_str.size()) return InvalidArgument("incomplete format");
    char conv = fmt_str[i];
    if (conv == '%') {
      out.push_back('%');
      continue;
    }
    if (!arg) {
      if (next >= positional.size()) {
        return InvalidArgument("not enough arguments for format string");
      }
      arg = positional[next++];
    }
    bool left = flags.find('-') != std::string::npos;
    size_t w = width.empty() ? 0 : std::stoul(width);
    std::string piece;
    if (conv == 's' || conv == 'r' || conv == 'a') {
      piece = conv == 's' ? ToStr(*arg) : Repr(*arg);
      if (precision.size() > 1) piece = TruncateCodepoints(piece, std::stoul(precision.substr(1)));
    } else if (conv == 'd' || conv == 'i' || conv == 'u') {
      if (!arg->is_number()) {
        return InvalidArgument("%{} format: a real number is required, not {}", conv,
                               TypeName(*arg));
      }
      int64_t n =
          arg->is_float() ? static_cast<int64_t>(std::trunc(arg->as_float())) : arg->as_int();
      piece = fmt::format("{}", n);
      if (n >= 0 && flags.find('+') != std::string::npos) {
        piece.insert(0, 1, '+');
      } else if (n >= 0 && flags.find(' ') != std::string::npos) {
        piece.insert(0, 1, ' ');
      }
      if (flags.find('0') != std::string::npos && !left && piece.size() < w) {
        size_t sign_len = (piece[0] == '-' || piece[0] == '+' || piece[0] == ' ') ? 1 : 0;
        piece.insert(sign_len, w - piece.size(), '0');
      }
    } else if (std::string_view("feEgGxXoc").find(conv) != std::string_view::npos) {
      if (conv == 'x' || conv == 'X' || conv == 'o' || conv == 'c') {
        if (!arg->is_int() && !arg->is_bool()) {
          return InvalidArgument("%{} format: an integer is required, not {}", conv,
                                 TypeName(*arg));
        }
        if (conv == 'c') {
          if (arg->as_int() < 0 || arg->as_int() > 0x10FFFF) {
            return InvalidArgument("%c arg not in range(0x110000)");
          }
          AppendUtf8(piece, static_cast<char32_t>(arg->as_int()));
        } else {
          int64_t n = arg->as_int();
          uint64_t mag = n < 0 ? 0 - static_cast<uint64_t>(n) : static_cast<uint64_t>(n);
          bool alt = flags.find('#') != std::string::npos;
          piece = conv == 'o'   ? fmt::format("{:o}", mag)
                  : conv == 'x' ? fmt::format("{:x}", mag)
                                : fmt::format("{:X}", mag);
          if (alt) piece.insert(0, conv == 'o' ? "0o" : conv == 'x' ? "0x" : "0X");
          if (n < 0) piece.insert(0, 1, '-');
        }
      } else {
        LOOM_ASSIGN_OR_RETURN(double d, AsReal(*arg, conv));
        std::string spec = "%";
        spec.append(flags).append(width).append(precision).push_back(conv);
        piece = CFormat(spec, d);
        if (std::isinf(d) || std::isnan(d)) {
          std::string word = std::isnan(d) ? "nan" : (d < 0 ? "-inf" : "inf");
          if (conv == 'E' || conv == 'G') {
            for (char& ch : word) {
              ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
            }
          }
          piece = word;
        }
      }
    } else {
      return InvalidArgument("unsupported format character '{}' (0x{:x}) at index {}", conv,
                             static_cast<int>(static_cast<unsigned char>(conv)), i);
    }
    if (w > 0) piece = Pad(piece, w, U' ', left ? '<' : '>');
    out += piece;
  }
  if (!used_mapping && !mapping_like && next < positional.size()) {
    return InvalidArgument("not all arguments converted during string formatting");
  }
  return out;
}

Result<std::string> StrFormat(Interpreter& in, std::string_view f, const CallArgs& args) {
  std::string out;
  size_t auto_index = 0;
  bool manual = false;
  bool automatic = false;
  for (size_t i = 0; i < f.size(); ++i) {
    char c = f[i];
    if (c == '}') {
      if (i + 1 < f.size() && f[i + 1] == '}') {
        out.push_back('}');
        ++i;
        continue;
      }
      return InvalidArgument("Single '}}' encountered in format string");
    }
    if (c != '{') {
      out.push_back(c);
      continue;
    }
    if (i + 1 < f.size() && f[i + 1] == '{') {
      out.push_back('{');
      ++i;
      continue;
    }
    size_t close = f.find('}', i);
    if (close == std::string_view::npos) {
      return InvalidArgument("expected '}}' before end of string");
    }
    std::string_view field = f.substr(i + 1, close - i - 1);
    i = close;
    std::string_view spec;
    size_t colon = field.find(':');
    if (colon != std::string_view::npos) {
      spec = field.substr(colon + 1);
      field = field.substr(0, colon);
    }
    char conversion = 0;
    size_t bang = field.find('!');
    if (bang != std::string_view::npos) {
      if (bang + 2 != field.size()) {
        return InvalidArgument("expected ':' after conversion specifier");
      }
      conversion = field[bang + 1];
      field = field.substr(0, bang);
    }
    size_t name_end = field.find_first_of(".[");
    std::string_view first = field.substr(0, name_end);
    Value value;
    bool numeric =
        !first.empty() && first.find_first_not_of("0123456789") == std::string_view::npos;
    if (first.empty() || numeric) {
      size_t idx = 0;
      if (first.empty()) {
        if (manual) {
          return InvalidArgument(
              "cannot switch from manual field specification to automatic field numbering");
        }
        automatic = true;
        idx = auto_index++;
      } else {
        if (automatic) {
          return InvalidArgument(
              "cannot switch from automatic field numbering to manual field specification");
        }
        manual = true;
        idx = std::stoul(std::string(first));
      }
      if (idx >= args.positional.size()) {
        return InvalidArgument("Replacement index {} out of range for positional args tuple", idx);
      }
      value = args.positional[idx];
    } else {
      bool found = false;
      for (const auto& [k, v] : args.keywords) {
        if (k == first) {
          value = v;
          found = true;
        }
      }
      if (!found) return InvalidArgument("'{}'", first);
    }
    // Attribute and index lookups go through the sandbox, as jinja2's SandboxedFormatter does.
    size_t p = name_end;
    while (p != std::string_view::npos && p < field.size()) {
      if (field[p] == '.') {
        size_t end = field.find_first_of(".[", p + 1);
        std::string_view attr = field.substr(
            p + 1, end == std::string_view::npos ? std::string_view::npos : end - p - 1);
        LOOM_ASSIGN_OR_RETURN(value, in.GetAttr(value, attr));
        p = end;
      } else {
        size_t end = field.find(']', p);
        if (end == std::string_view::npos) return InvalidArgument("Missing ']' in format string");
        std::string_view key = field.substr(p + 1, end - p - 1);
        bool is_num = !key.empty() && key.find_first_not_of("0123456789") == std::string_view::npos;
        Value k =
            is_num ? Value::Int(std::stoll(std::string(key))) : Value::String(std::string(key));
        LOOM_ASSIGN_OR_RETURN(value, in.GetItem(value, k));
        p = end + 1;
      }
    }
    if (conversion == 'r' || conversion == 'a') {
      value = Value::String(Repr(value));
    } else if (conversion == 's') {
      value = Value::String(ToStr(value));
    } else if (conversion != 0) {
      return InvalidArgument("Unknown conversion specifier {}", conversion);
    }
    LOOM_ASSIGN_OR_RETURN(std::string piece, FormatSpec(value, spec));
    out += piece;
    LOOM_RETURN_IF_ERROR(in.CheckSize(out.size()));
  }
  return out;
}

}  // namespace loom::jinja
