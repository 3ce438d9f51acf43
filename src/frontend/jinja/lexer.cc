#include "frontend/jinja/lexer.h"

#include <fmt/core.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdlib>

#include "frontend/jinja/unicode.h"

namespace loom::jinja {

Status SyntaxError(int line, std::string_view message) {
  return InvalidArgument("template syntax error, line {}: {}", line, message);
}

namespace {

bool IsAsciiDigit(char c) { return c >= '0' && c <= '9'; }
bool IsNameStart(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
         static_cast<unsigned char>(c) >= 0x80;
}
bool IsNameChar(char c) { return IsNameStart(c) || IsAsciiDigit(c); }

// Length of the Unicode whitespace character at s[i], or 0 (regex \s, str.isspace).
size_t SpaceLen(std::string_view s, size_t i) {
  unsigned char c = static_cast<unsigned char>(s[i]);
  if (c < 0x80) return IsSpace(c) ? 1 : 0;
  size_t n = (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : (c & 0xF8) == 0xF0 ? 4 : 1;
  if (i + n > s.size()) return 0;
  std::u32string cp = DecodeUtf8(s.substr(i, n));
  return (cp.size() == 1 && IsSpace(cp[0])) ? n : 0;
}

size_t SkipSpaces(std::string_view s, size_t i) {
  while (i < s.size()) {
    size_t n = SpaceLen(s, i);
    if (n == 0) break;
    i += n;
  }
  return i;
}

// Python str.rstrip() with no arguments.
std::string_view RStrip(std::string_view s) {
  std::u32string cps = DecodeUtf8(s);
  size_t keep = cps.size();
  while (keep > 0 && IsSpace(cps[keep - 1])) --keep;
  return s.substr(0, EncodeUtf8(std::u32string_view(cps).substr(0, keep)).size());
}

bool AllSpace(std::string_view s) {
  if (s.empty()) return false;
  for (char32_t c : DecodeUtf8(s)) {
    if (!IsSpace(c)) return false;
  }
  return true;
}

// Python's "unicode-escape" decoding of a string literal body, as jinja2 applies it.
Result<std::string> Unescape(std::string_view body, int line) {
  std::string out;
  out.reserve(body.size());
  for (size_t i = 0; i < body.size(); ++i) {
    char c = body[i];
    if (c != '\\' || i + 1 >= body.size()) {
      out.push_back(c);
      continue;
    }
    char e = body[++i];
    auto hex = [&](int digits) -> Result<char32_t> {
      char32_t v = 0;
      for (int k = 1; k <= digits; ++k) {
        if (i + k >= body.size()) return SyntaxError(line, "truncated escape in string literal");
        char h = body[i + k];
        int d = IsAsciiDigit(h)          ? h - '0'
                : (h >= 'a' && h <= 'f') ? h - 'a' + 10
                : (h >= 'A' && h <= 'F') ? h - 'A' + 10
                                         : -1;
        if (d < 0) return SyntaxError(line, "truncated escape in string literal");
        v = v * 16 + static_cast<char32_t>(d);
      }
      i += digits;
      return v;
    };
    switch (e) {
      case '\n':
        break;  // line continuation
      case '\\':
      case '\'':
      case '"':
        out.push_back(e);
        break;
      case 'a':
        out.push_back('\a');
        break;
      case 'b':
        out.push_back('\b');
        break;
      case 'f':
        out.push_back('\f');
        break;
      case 'n':
        out.push_back('\n');
        break;
      case 'r':
        out.push_back('\r');
        break;
      case 't':
        out.push_back('\t');
        break;
      case 'v':
        out.push_back('\v');
        break;
      case 'x':
      case 'u':
      case 'U': {
        LOOM_ASSIGN_OR_RETURN(char32_t cp, hex(e == 'x' ? 2 : e == 'u' ? 4 : 8));
        if (cp > 0x10FFFF) return SyntaxError(line, "illegal Unicode character in string literal");
        AppendUtf8(out, cp);
        break;
      }
      default:
        if (e >= '0' && e <= '7') {
          char32_t v = static_cast<char32_t>(e - '0');
          for (int k = 0; k < 2 && i + 1 < body.size() && body[i + 1] >= '0' && body[i + 1] <= '7';
               ++k) {
            v = v * 8 + static_cast<char32_t>(body[++i] - '0');
          }
          AppendUtf8(out, v);
        } else {
          out.push_back('\\');
          out.push_back(e);
        }
    }
  }
  return out;
}

class Lexer {
 public:
  explicit Lexer(std::string_view source) {
    // Newlines normalise to "\n" and one trailing newline is dropped (keep_trailing_newline).
    src_.reserve(source.size());
    for (size_t i = 0; i < source.size(); ++i) {
      if (source[i] == '\r') {
        src_.push_back('\n');
        if (i + 1 < source.size() && source[i + 1] == '\n') ++i;
      } else {
        src_.push_back(source[i]);
      }
    }
    if (!src_.empty() && src_.back() == '\n') src_.pop_back();
    for (size_t i = 0; i < src_.size(); ++i) {
      if (src_[i] == '\n') newlines_.push_back(i);
    }
  }

  Result<std::vector<Token>> Run() {
    size_t pos = 0;
    while (pos < src_.size()) {
      size_t tag = src_.find('{', pos);
      while (tag != std::string::npos && tag + 1 < src_.size() && src_[tag + 1] != '{' &&
             src_[tag + 1] != '%' && src_[tag + 1] != '#') {
        tag = src_.find('{', tag + 1);
      }
      if (tag == std::string::npos || tag + 1 >= src_.size()) {
        EmitData(std::string_view(src_).substr(pos), pos);
        break;
      }
      char kind = src_[tag + 1];
      size_t after = tag + 2;
      char sign =
          (after < src_.size() && (src_[after] == '-' || src_[after] == '+')) ? src_[after] : 0;
      if (sign != 0) ++after;
      size_t raw_end = 0;
      bool is_raw = kind == '%' && MatchRawBegin(after, &raw_end);
      std::string_view text = std::string_view(src_).substr(pos, tag - pos);
      EmitData(StripBeforeTag(text, sign, kind != '{', pos), pos);
      line_ = LineAt(tag);
      if (is_raw) {
        LOOM_ASSIGN_OR_RETURN(pos, LexRaw(raw_end));
      } else if (kind == '#') {
        LOOM_ASSIGN_OR_RETURN(pos, LexComment(after));
      } else {
        LOOM_ASSIGN_OR_RETURN(pos, LexTag(kind == '%', after));
      }
    }
    tokens_.push_back(Token{TokenType::kEof, "", LineAt(src_.size())});
    return std::move(tokens_);
  }

 private:
  void EmitData(std::string_view text, size_t pos) {
    if (text.empty()) return;
    tokens_.push_back(Token{TokenType::kData, std::string(text), LineAt(pos)});
  }

  // 1-based line of source position pos.
  int LineAt(size_t pos) const {
    return 1 + static_cast<int>(std::lower_bound(newlines_.begin(), newlines_.end(), pos) -
                                newlines_.begin());
  }

  // jinja2's OptionalLStrip: "-" strips all whitespace before the tag; otherwise lstrip_blocks
  // removes spaces between the line start and a block or comment tag (not "+", not {{).
  std::string_view StripBeforeTag(std::string_view text, char sign, bool lstrip_applies,
                                  size_t text_pos) const {
    if (sign == '-') return RStrip(text);
    if (sign == '+' || !lstrip_applies) return text;
    size_t nl = text.rfind('\n');
    size_t l_pos = nl == std::string_view::npos ? 0 : nl + 1;
    bool line_starting = text_pos == 0 || src_[text_pos - 1] == '\n';
    if ((l_pos > 0 || line_starting) && AllSpace(text.substr(l_pos))) return text.substr(0, l_pos);
    return text;
  }

  // {%(-|+)?\s*raw\s*(-%}\s*|%}) starting after the sign; sets *end past the match.
  bool MatchRawBegin(size_t i, size_t* end) const {
    i = SkipSpaces(src_, i);
    if (src_.compare(i, 3, "raw") != 0) return false;
    i += 3;
    if (i < src_.size() && IsNameChar(src_[i])) return false;
    i = SkipSpaces(src_, i);
    if (src_.compare(i, 3, "-%}") == 0) {
      *end = SkipSpaces(src_, i + 3);
      return true;
    }
    if (src_.compare(i, 2, "%}") == 0) {
      *end = i + 2;
      return true;
    }
    return false;
  }

  // Position after a block end at i ("+%}", "-%}\s*" or "%}\n?"), or npos.
  size_t MatchBlockEnd(size_t i) const {
    if (src_.compare(i, 3, "+%}") == 0) return i + 3;
    if (src_.compare(i, 3, "-%}") == 0) return SkipSpaces(src_, i + 3);
    if (src_.compare(i, 2, "%}") == 0) {
      return (i + 2 < src_.size() && src_[i + 2] == '\n') ? i + 3 : i + 2;
    }
    return std::string::npos;
  }

  Result<size_t> LexRaw(size_t begin) {
    for (size_t i = begin; i < src_.size(); ++i) {
      if (src_.compare(i, 2, "{%") != 0) continue;
      size_t j = i + 2;
      char sign = (j < src_.size() && (src_[j] == '-' || src_[j] == '+')) ? src_[j] : 0;
      if (sign != 0) ++j;
      j = SkipSpaces(src_, j);
      if (src_.compare(j, 6, "endraw") != 0) continue;
      j = SkipSpaces(src_, j + 6);
      size_t end = MatchBlockEnd(j);
      if (end == std::string::npos) continue;
      std::string_view text = std::string_view(src_).substr(begin, i - begin);
      EmitData(StripBeforeTag(text, sign, true, begin), begin);
      return end;
    }
    return SyntaxError(line_, "Missing end of raw directive");
  }

  Result<size_t> LexComment(size_t begin) {
    for (size_t i = begin; i < src_.size(); ++i) {
      size_t end = std::string::npos;
      if (src_.compare(i, 3, "+#}") == 0) {
        end = i + 3;
      } else if (src_.compare(i, 3, "-#}") == 0) {
        end = SkipSpaces(src_, i + 3);
      } else if (src_.compare(i, 2, "#}") == 0) {
        end = (i + 2 < src_.size() && src_[i + 2] == '\n') ? i + 3 : i + 2;
      }
      if (end != std::string::npos) return end;
    }
    return SyntaxError(line_, "Missing end of comment tag");
  }

  Result<size_t> LexTag(bool block, size_t i) {
    tokens_.push_back(Token{block ? TokenType::kBlockBegin : TokenType::kVariableBegin, "", line_});
    std::vector<char> balance;
    while (i < src_.size()) {
      if (balance.empty()) {
        size_t end = std::string::npos;
        if (block) {
          end = MatchBlockEnd(i);
        } else if (src_.compare(i, 3, "-}}") == 0) {
          end = SkipSpaces(src_, i + 3);
        } else if (src_.compare(i, 2, "}}") == 0) {
          end = i + 2;
        }
        if (end != std::string::npos) {
          tokens_.push_back(
              Token{block ? TokenType::kBlockEnd : TokenType::kVariableEnd, "", LineAt(i)});
          return end;
        }
      }
      size_t ws = SkipSpaces(src_, i);
      if (ws != i) {
        i = ws;
        continue;
      }
      line_ = LineAt(i);
      LOOM_ASSIGN_OR_RETURN(i, LexOne(i, balance));
    }
    // jinja2 stops producing tokens here; its parser then reports the missing end.
    return SyntaxError(line_,
                       block ? "unexpected end of template, expected 'end of statement block'"
                             : "unexpected end of template, expected 'end of print statement'");
  }

  // Number, name, string or operator at i.
  Result<size_t> LexOne(size_t i, std::vector<char>& balance) {
    char c = src_[i];
    if (IsAsciiDigit(c)) return LexNumber(i);
    if (IsNameStart(c)) {
      size_t j = i;
      while (j < src_.size() && IsNameChar(src_[j])) ++j;
      tokens_.push_back(Token{TokenType::kName, src_.substr(i, j - i), line_});
      return j;
    }
    if (c == '\'' || c == '"') {
      for (size_t j = i + 1; j < src_.size(); ++j) {
        if (src_[j] == '\\') {
          ++j;
          continue;
        }
        if (src_[j] == c) {
          std::string_view body = std::string_view(src_).substr(i + 1, j - i - 1);
          LOOM_ASSIGN_OR_RETURN(std::string value, Unescape(body, line_));
          tokens_.push_back(Token{TokenType::kString, std::move(value), line_});
          return j + 1;
        }
      }
      return SyntaxError(line_,
                         fmt::format("unexpected char {} at {}", c == '\'' ? "\"'\"" : "'\"'", i));
    }
    static constexpr std::string_view kTwoChar[] = {"**", "//", "==", "!=", ">=", "<="};
    for (std::string_view op : kTwoChar) {
      if (src_.compare(i, 2, op) == 0) {
        tokens_.push_back(Token{TokenType::kOperator, std::string(op), line_});
        return i + 2;
      }
    }
    static constexpr std::string_view kOneChar = "+-/*%~[](){}><=.:|,;";
    if (kOneChar.find(c) == std::string_view::npos) {
      return SyntaxError(line_, fmt::format("unexpected char '{}' at {}", c, i));
    }
    if (c == '(' || c == '[' || c == '{') {
      balance.push_back(c == '(' ? ')' : c == '[' ? ']' : '}');
    } else if (c == ')' || c == ']' || c == '}') {
      if (balance.empty()) return SyntaxError(line_, fmt::format("unexpected '{}'", c));
      if (balance.back() != c) {
        return SyntaxError(line_, fmt::format("unexpected '{}', expected '{}'", c, balance.back()));
      }
      balance.pop_back();
    }
    tokens_.push_back(Token{TokenType::kOperator, std::string(1, c), line_});
    return i + 1;
  }

  // jinja2's float_re then integer_re (underscores allowed between digits).
  Result<size_t> LexNumber(size_t i) {
    auto digits = [&](size_t j) {  // (\d+_)*\d+ ; returns end or j when absent
      size_t k = j;
      while (k < src_.size() && IsAsciiDigit(src_[k])) {
        ++k;
        if (k + 1 < src_.size() && src_[k] == '_' && IsAsciiDigit(src_[k + 1])) ++k;
      }
      return k;
    };
    bool after_dot = i > 0 && src_[i - 1] == '.';
    size_t int_end = digits(i);
    size_t j = int_end;
    bool is_float = false;
    if (!after_dot) {
      if (j + 1 < src_.size() && src_[j] == '.' && IsAsciiDigit(src_[j + 1])) {
        j = digits(j + 1);
        is_float = true;
      }
      if (j < src_.size() && (src_[j] == 'e' || src_[j] == 'E')) {
        size_t k = j + 1;
        if (k < src_.size() && (src_[k] == '+' || src_[k] == '-')) ++k;
        if (k < src_.size() && IsAsciiDigit(src_[k])) {
          j = digits(k);
          is_float = true;
        }
      }
    }
    std::string text;
    if (is_float) {
      for (size_t k = i; k < j; ++k) {
        if (src_[k] != '_') text.push_back(src_[k]);
      }
      Token t{TokenType::kFloat, text, line_};
      t.float_value = std::strtod(text.c_str(), nullptr);
      tokens_.push_back(std::move(t));
      return j;
    }
    int base = 10;
    size_t start = i;
    if (src_[i] == '0' && i + 1 < src_.size()) {
      char p = static_cast<char>(src_[i + 1] | 0x20);
      if (p == 'x' || p == 'o' || p == 'b') {
        base = p == 'x' ? 16 : p == 'o' ? 8 : 2;
        start = i + 2;
      }
    }
    size_t k = start;
    auto valid = [&](char ch) {
      if (base == 16) return std::isxdigit(static_cast<unsigned char>(ch)) != 0;
      if (base == 8) return ch >= '0' && ch <= '7';
      if (base == 2) return ch == '0' || ch == '1';
      return IsAsciiDigit(ch);
    };
    while (k < src_.size() &&
           (valid(src_[k]) || (src_[k] == '_' && k + 1 < src_.size() && valid(src_[k + 1])))) {
      if (src_[k] != '_') text.push_back(src_[k]);
      ++k;
    }
    if (base != 10 && text.empty()) {
      k = i + 1;  // just "0"; the letter lexes as a name
      text.assign(1, '0');
      base = 10;
    }
    if (base == 10 && text.size() > 1 && text[0] == '0' &&
        text.find_first_not_of('0') != std::string::npos) {
      k = i + 1;  // "0(_?0)*" only: "012" lexes as 0 then 12, which the parser rejects
      text.assign(1, '0');
    }
    errno = 0;
    unsigned long long v = std::strtoull(text.c_str(), nullptr, base);
    if (errno == ERANGE || v > static_cast<unsigned long long>(INT64_MAX)) {
      return SyntaxError(line_, "integer literal too large");
    }
    Token t{TokenType::kInteger, text, line_};
    t.int_value = static_cast<int64_t>(v);
    tokens_.push_back(std::move(t));
    return k;
  }

  std::string src_;
  std::vector<Token> tokens_;
  std::vector<size_t> newlines_;  // positions of '\n' in src_
  int line_ = 1;                  // line of the token being lexed, for its Token and errors
};

}  // namespace

Result<std::vector<Token>> Tokenize(std::string_view source) { return Lexer(source).Run(); }

}  // namespace loom::jinja
