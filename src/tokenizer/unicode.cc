#include "tokenizer/unicode.h"

#include <utf8proc.h>

#include <array>
#include <cstdlib>
#include <memory>
#include <vector>

namespace loom::tok {

size_t CountCodePoints(std::string_view s) {
  size_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80;
  return n;
}

namespace {

// Valid second-byte range for a lead byte (WHATWG / Unicode Table 3-7); {0,0} when the lead is
// invalid.
struct LeadInfo {
  int need;
  unsigned char lo, hi;
};
LeadInfo Lead(unsigned char c) {
  if (c >= 0xC2 && c <= 0xDF) return {1, 0x80, 0xBF};
  if (c == 0xE0) return {2, 0xA0, 0xBF};
  if (c == 0xED) return {2, 0x80, 0x9F};
  if (c >= 0xE1 && c <= 0xEF) return {2, 0x80, 0xBF};
  if (c == 0xF0) return {3, 0x90, 0xBF};
  if (c == 0xF4) return {3, 0x80, 0x8F};
  if (c >= 0xF1 && c <= 0xF3) return {3, 0x80, 0xBF};
  return {0, 0, 0};
}

}  // namespace

bool IsValidUtf8(std::string_view s) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  size_t n = s.size(), i = 0;
  while (i < n) {
    unsigned char c = p[i];
    if (c < 0x80) {
      ++i;
      continue;
    }
    LeadInfo li = Lead(c);
    if (li.need == 0 || i + li.need >= n) return false;
    if (p[i + 1] < li.lo || p[i + 1] > li.hi) return false;
    for (int k = 2; k <= li.need; ++k) {
      if ((p[i + k] & 0xC0) != 0x80) return false;
    }
    i += li.need + 1;
  }
  return true;
}

void AppendUtf8Lossy(std::string& out, std::string_view bytes) {
  static constexpr char kReplacement[] = "\xEF\xBF\xBD";
  const auto* p = reinterpret_cast<const unsigned char*>(bytes.data());
  size_t n = bytes.size(), i = 0;
  while (i < n) {
    unsigned char c = p[i];
    if (c < 0x80) {
      out.push_back(static_cast<char>(c));
      ++i;
      continue;
    }
    LeadInfo li = Lead(c);
    if (li.need == 0) {
      out += kReplacement;
      ++i;
      continue;
    }
    size_t j = i + 1;
    bool ok = true;
    for (int k = 0; k < li.need; ++k, ++j) {
      if (j >= n) {  // truncated at the end: one replacement for the whole partial sequence
        ok = false;
        break;
      }
      unsigned char lo = k == 0 ? li.lo : 0x80, hi = k == 0 ? li.hi : 0xBF;
      if (p[j] < lo || p[j] > hi) {
        ok = false;
        break;
      }
    }
    if (ok) {
      out.append(bytes.substr(i, j - i));
    } else {
      out += kReplacement;  // the offending byte (if any) is re-examined as a new lead
    }
    i = j;
  }
}

bool IsWhiteSpace(char32_t cp) {
  return (cp >= 0x09 && cp <= 0x0D) || cp == 0x20 || cp == 0x85 || cp == 0xA0 || cp == 0x1680 ||
         (cp >= 0x2000 && cp <= 0x200A) || cp == 0x2028 || cp == 0x2029 || cp == 0x202F ||
         cp == 0x205F || cp == 0x3000;
}

bool IsJsWhitespace(char32_t cp) { return (IsWhiteSpace(cp) && cp != 0x85) || cp == 0xFEFF; }

std::string_view JsTrim(std::string_view s, bool left, bool right) {
  if (left) {
    size_t i = 0;
    while (i < s.size()) {
      size_t j = i;
      if (!IsJsWhitespace(NextCodePoint(s, j))) break;
      i = j;
    }
    s.remove_prefix(i);
  }
  if (right) {
    size_t i = s.size();
    while (i > 0) {
      size_t j = i;
      if (!IsJsWhitespace(PrevCodePoint(s, j))) break;
      i = j;
    }
    s = s.substr(0, i);
  }
  return s;
}

namespace {
utf8proc_category_t Cat(char32_t cp) {
  return utf8proc_category(static_cast<utf8proc_int32_t>(cp));
}
}  // namespace

bool IsMark(char32_t cp) {
  auto c = Cat(cp);
  return c == UTF8PROC_CATEGORY_MN || c == UTF8PROC_CATEGORY_MC || c == UTF8PROC_CATEGORY_ME;
}
bool IsNonspacingMark(char32_t cp) { return Cat(cp) == UTF8PROC_CATEGORY_MN; }
bool IsPunctuation(char32_t cp) {
  auto c = Cat(cp);
  return c >= UTF8PROC_CATEGORY_PC && c <= UTF8PROC_CATEGORY_PO;
}
bool IsAsciiPunctuation(char32_t cp) {
  return (cp >= 0x21 && cp <= 0x2F) || (cp >= 0x3A && cp <= 0x40) || (cp >= 0x5B && cp <= 0x60) ||
         (cp >= 0x7B && cp <= 0x7E);
}
bool IsControlOrFormat(char32_t cp) {
  auto c = Cat(cp);
  return c == UTF8PROC_CATEGORY_CC || c == UTF8PROC_CATEGORY_CF || c == UTF8PROC_CATEGORY_CO ||
         c == UTF8PROC_CATEGORY_CS;
}
bool IsNumeric(char32_t cp) {
  auto c = Cat(cp);
  return c == UTF8PROC_CATEGORY_ND || c == UTF8PROC_CATEGORY_NL || c == UTF8PROC_CATEGORY_NO;
}
bool IsWordChar(char32_t cp) {
  if (cp < 0x80)
    return (cp >= '0' && cp <= '9') || (cp >= 'a' && cp <= 'z') || (cp >= 'A' && cp <= 'Z') ||
           cp == '_';
  auto c = Cat(cp);
  return (c >= UTF8PROC_CATEGORY_LU && c <= UTF8PROC_CATEGORY_LO) || c == UTF8PROC_CATEGORY_MN ||
         c == UTF8PROC_CATEGORY_MC || c == UTF8PROC_CATEGORY_ME || c == UTF8PROC_CATEGORY_ND ||
         c == UTF8PROC_CATEGORY_NL || c == UTF8PROC_CATEGORY_PC || cp == 0x200C || cp == 0x200D;
}

namespace {

// Unicode "Cased" (approximated: letters with case mappings or Lu/Ll/Lt).
bool IsCased(char32_t cp) {
  auto c = Cat(cp);
  if (c == UTF8PROC_CATEGORY_LU || c == UTF8PROC_CATEGORY_LL || c == UTF8PROC_CATEGORY_LT)
    return true;
  auto i = static_cast<utf8proc_int32_t>(cp);
  return utf8proc_tolower(i) != i || utf8proc_toupper(i) != i;
}

// Unicode "Case_Ignorable": Mn | Me | Cf | Lm | Sk | Word_Break in {MidLetter, MidNumLet,
// Single_Quote}.
bool IsCaseIgnorable(char32_t cp) {
  switch (cp) {
    case 0x27:
    case 0x2E:
    case 0x3A:
    case 0xB7:
    case 0x387:
    case 0x55F:
    case 0x5F4:
    case 0x2018:
    case 0x2019:
    case 0x2024:
    case 0x2027:
    case 0xFE13:
    case 0xFE52:
    case 0xFE55:
    case 0xFF07:
    case 0xFF0E:
    case 0xFF1A:
      return true;
    default:
      break;
  }
  auto c = Cat(cp);
  return c == UTF8PROC_CATEGORY_MN || c == UTF8PROC_CATEGORY_ME || c == UTF8PROC_CATEGORY_CF ||
         c == UTF8PROC_CATEGORY_LM || c == UTF8PROC_CATEGORY_SK;
}

// SpecialCasing.txt Final_Sigma: preceded by cased (skipping case-ignorables), not followed by
// cased.
bool IsFinalSigma(std::string_view s, size_t begin, size_t end) {
  bool before = false;
  for (size_t i = begin; i > 0;) {
    char32_t cp = PrevCodePoint(s, i);
    if (IsCaseIgnorable(cp)) continue;
    before = IsCased(cp);
    break;
  }
  if (!before) return false;
  for (size_t i = end; i < s.size();) {
    char32_t cp = NextCodePoint(s, i);
    if (IsCaseIgnorable(cp)) continue;
    return !IsCased(cp);
  }
  return true;
}

}  // namespace

std::string JsToLowerCase(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size();) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      out.push_back(static_cast<char>(c >= 'A' && c <= 'Z' ? c + 32 : c));
      ++i;
      continue;
    }
    size_t begin = i;
    char32_t cp = NextCodePoint(s, i);
    if (cp == 0x130) {
      out += "i\xCC\x87";
    } else if (cp == 0x3A3) {
      AppendUtf8(out, IsFinalSigma(s, begin, i) ? 0x3C2 : 0x3C3);
    } else {
      AppendUtf8(out, static_cast<char32_t>(utf8proc_tolower(static_cast<utf8proc_int32_t>(cp))));
    }
  }
  return out;
}

std::string UnicodeNormalize(std::string_view s, NormalForm form) {
  bool ascii = true;
  for (unsigned char c : s) ascii &= c < 0x80;
  if (ascii) return std::string(s);  // ASCII is invariant under every normal form
  int options = UTF8PROC_STABLE;
  switch (form) {
    case NormalForm::kNfc:
      options |= UTF8PROC_COMPOSE;
      break;
    case NormalForm::kNfd:
      options |= UTF8PROC_DECOMPOSE;
      break;
    case NormalForm::kNfkc:
      options |= UTF8PROC_COMPOSE | UTF8PROC_COMPAT;
      break;
    case NormalForm::kNfkd:
      options |= UTF8PROC_DECOMPOSE | UTF8PROC_COMPAT;
      break;
  }
  utf8proc_uint8_t* out = nullptr;
  utf8proc_ssize_t n = utf8proc_map(reinterpret_cast<const utf8proc_uint8_t*>(s.data()),
                                    static_cast<utf8proc_ssize_t>(s.size()), &out,
                                    static_cast<utf8proc_option_t>(options));
  if (n < 0)
    return std::string(s);  // invalid UTF-8 cannot reach here; keep the text rather than lose it
  std::string result(reinterpret_cast<char*>(out), static_cast<size_t>(n));
  std::free(out);
  return result;
}

namespace {

struct ByteTables {
  std::array<std::string, 256> to_utf8;
  std::array<int16_t, 0x200> to_byte;  // indexed by code point
  ByteTables() {
    to_byte.fill(-1);
    std::vector<int> printable;
    for (int b = '!'; b <= '~'; ++b) printable.push_back(b);
    for (int b = 0xA1; b <= 0xAC; ++b) printable.push_back(b);
    for (int b = 0xAE; b <= 0xFF; ++b) printable.push_back(b);
    std::array<bool, 256> is_printable{};
    for (int b : printable) is_printable[b] = true;
    int n = 0;
    for (int b = 0; b < 256; ++b) {
      char32_t cp = is_printable[b] ? static_cast<char32_t>(b) : static_cast<char32_t>(256 + n++);
      AppendUtf8(to_utf8[b], cp);
      to_byte[cp] = static_cast<int16_t>(b);
    }
  }
};
const ByteTables& Tables() {
  static const ByteTables* t = new ByteTables();
  return *t;
}

}  // namespace

const std::string& ByteToUnicodeUtf8(uint8_t b) { return Tables().to_utf8[b]; }

int UnicodeToByte(char32_t cp) { return cp < 0x200 ? Tables().to_byte[cp] : -1; }

}  // namespace loom::tok
