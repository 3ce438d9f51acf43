// UTF-8 and Unicode helpers shared by the tokenizer stages. All strings are UTF-8; text entering
// Tokenizer::Encode is validated once, so the decoders here assume valid input unless they say
// otherwise. Character properties come from utf8proc (Unicode 15); semantics that follow JavaScript
// (the reference implementation the goldens come from) are named Js*.
#pragma once

#include "core/utf8.h"

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace loom::tok {

// Number of bytes of the UTF-8 sequence that starts with `lead` (1 for continuation/invalid bytes).
inline int Utf8SeqLen(unsigned char lead) {
  if (lead < 0x80) return 1;
  if (lead >= 0xF0) return 4;
  if (lead >= 0xE0) return 3;
  if (lead >= 0xC0) return 2;
  return 1;
}

// Decodes the code point at s[i] (valid UTF-8) and advances i past it.
inline char32_t NextCodePoint(std::string_view s, size_t& i) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data()) + i;
  unsigned char c = p[0];
  if (c < 0x80) {
    i += 1;
    return c;
  }
  if (c < 0xE0) {
    i += 2;
    return (char32_t(c & 0x1F) << 6) | (p[1] & 0x3F);
  }
  if (c < 0xF0) {
    i += 3;
    return (char32_t(c & 0x0F) << 12) | (char32_t(p[1] & 0x3F) << 6) | (p[2] & 0x3F);
  }
  i += 4;
  return (char32_t(c & 0x07) << 18) | (char32_t(p[1] & 0x3F) << 12) | (char32_t(p[2] & 0x3F) << 6) |
         (p[3] & 0x3F);
}

// Decodes the code point that ends at s[i) (valid UTF-8) and moves i back to its first byte.
inline char32_t PrevCodePoint(std::string_view s, size_t& i) {
  size_t j = i - 1;
  while (j > 0 && (static_cast<unsigned char>(s[j]) & 0xC0) == 0x80) --j;
  size_t k = j;
  char32_t cp = NextCodePoint(s, k);
  i = j;
  return cp;
}

using ::loom::AppendUtf8;
size_t CountCodePoints(std::string_view s);

// Strict validation: no overlongs, no surrogates, nothing above U+10FFFF.
bool IsValidUtf8(std::string_view s);
// Appends `bytes` decoded the way the WHATWG TextDecoder (and Rust's String::from_utf8_lossy) do:
// each maximal invalid subpart becomes one U+FFFD, including an incomplete sequence at the end.
void AppendUtf8Lossy(std::string& out, std::string_view bytes);

// Unicode White_Space property (Rust char::is_whitespace, Oniguruma \s).
bool IsWhiteSpace(char32_t cp);
// JavaScript's \s and String.prototype.trim set: White_Space minus U+0085, plus U+FEFF.
bool IsJsWhitespace(char32_t cp);
// JS String.prototype.trim/trimStart/trimEnd.
std::string_view JsTrim(std::string_view s, bool left, bool right);

// General category tests (utf8proc).
bool IsMark(char32_t cp);            // Mn | Mc | Me
bool IsNonspacingMark(char32_t cp);  // Mn
bool IsPunctuation(char32_t cp);     // P*
bool IsAsciiPunctuation(char32_t cp);
bool IsControlOrFormat(char32_t cp);  // Cc | Cf | Co | Cs
bool IsNumeric(char32_t cp);          // N* (Rust char::is_numeric)
// Oniguruma/Rust-regex \w: Alphabetic | M | Nd | Pc (approximated with letters, marks, Nd, Pc, Nl).
bool IsWordChar(char32_t cp);

// String.prototype.toLowerCase (root locale): full mappings, so U+0130 becomes "i\u0307" and a
// final capital sigma becomes U+03C2.
std::string JsToLowerCase(std::string_view s);

enum class NormalForm { kNfc, kNfd, kNfkc, kNfkd };
std::string UnicodeNormalize(std::string_view s, NormalForm form);

// The GPT-2 byte <-> unicode table used by ByteLevel: printable bytes map to themselves, the rest
// to U+0100.. in byte order.
const std::string& ByteToUnicodeUtf8(uint8_t b);  // UTF-8 of the mapped char
int UnicodeToByte(char32_t cp);                   // -1 when cp is not in the table

}  // namespace loom::tok
