// Code-point level string helpers. Python strings are sequences of code points, so length,
// indexing, slicing, case mapping and whitespace stripping must work on code points, not bytes.
#pragma once

#include <string>
#include <string_view>

namespace loom::jinja {

// Decodes UTF-8. An invalid byte b decodes to U+DC00+b (Python's surrogateescape), so
// EncodeUtf8(DecodeUtf8(s)) == s for any byte string.
std::u32string DecodeUtf8(std::string_view s);
std::string EncodeUtf8(std::u32string_view s);
void AppendUtf8(std::string& out, char32_t cp);
size_t CountCodepoints(std::string_view s);

// Python str.isspace().
bool IsSpace(char32_t c);
// Python str.isalpha()/isdigit()/isalnum() for the scripts chat templates meet: Latin, Greek,
// Cyrillic, CJK, kana, Hangul, Arabic, Hebrew. Other scripts are treated as non-letters.
bool IsAlpha(char32_t c);
bool IsDigit(char32_t c);
inline bool IsAlnum(char32_t c) { return IsAlpha(c) || IsDigit(c); }
// A character regex \w matches.
inline bool IsWordChar(char32_t c) { return c == U'_' || IsAlnum(c); }
// Simple case mapping for ASCII, Latin-1, Latin Extended-A, Greek, Cyrillic and fullwidth Latin.
char32_t ToUpper(char32_t c);
char32_t ToLower(char32_t c);
bool IsUpper(char32_t c);
bool IsLower(char32_t c);
// Python str.isprintable() for one code point (used by repr()).
bool IsPrintable(char32_t c);

std::u32string UpperString(std::u32string_view s);
std::u32string LowerString(std::u32string_view s);

}  // namespace loom::jinja
