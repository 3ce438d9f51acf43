#include "tokenizer/regex.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <fmt/format.h>
#include <pcre2.h>

#include "tokenizer/unicode.h"

namespace loom::tok {

struct Regex::Code {
  pcre2_code* code = nullptr;
  ~Code() { pcre2_code_free(code); }
};

namespace {

// Per-thread match state: one match-data block (enough pairs for any tokenizer pattern) and a JIT
// stack large enough for long whitespace runs against lookaheads like \s+(?!\S).
struct ThreadMatchState {
  pcre2_match_data* data = pcre2_match_data_create(64, nullptr);
  pcre2_jit_stack* stack = pcre2_jit_stack_create(32 * 1024, 4 * 1024 * 1024, nullptr);
  pcre2_match_context* context = nullptr;
  ThreadMatchState() {
    context = pcre2_match_context_create(nullptr);
    pcre2_jit_stack_assign(context, nullptr, stack);
  }
  ~ThreadMatchState() {
    pcre2_match_context_free(context);
    pcre2_jit_stack_free(stack);
    pcre2_match_data_free(data);
  }
};
ThreadMatchState& MatchState() {
  thread_local ThreadMatchState state;
  return state;
}

}  // namespace

Result<Regex> Regex::Compile(const std::string& pattern, std::string_view where) {
  int error = 0;
  PCRE2_SIZE offset = 0;
  pcre2_code* code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern.data()), pattern.size(),
                                   PCRE2_UTF | PCRE2_UCP, &error, &offset, nullptr);
  if (code == nullptr) {
    PCRE2_UCHAR message[256];
    pcre2_get_error_message(error, message, sizeof(message));
    return DataLoss("{}: invalid regex at offset {}: {} (pattern {:?})", where, offset,
                    reinterpret_cast<const char*>(message), pattern);
  }
  pcre2_jit_compile(code,
                    PCRE2_JIT_COMPLETE);  // falls back to the interpreter when JIT is unavailable
  auto c = std::make_shared<Code>();
  c->code = code;
  Regex r;
  r.code_ = std::move(c);
  return r;
}

Result<Regex> Regex::CompileOniguruma(std::string_view pattern, std::string_view where) {
  auto translated = TranslateOniguruma(pattern);
  if (!translated.ok()) return DataLoss("{}: {}", where, translated.status().message());
  return Compile(*translated, where);
}

Regex Regex::Literal(std::string_view text) {
  auto r = Compile(EscapeRegex(text), "literal");
  return std::move(r).value();  // an escaped literal always compiles
}

void Regex::FindAll(std::string_view subject, std::vector<Match>* out) const {
  out->clear();
  ThreadMatchState& st = MatchState();
  const auto* s = reinterpret_cast<PCRE2_SPTR>(subject.data());
  size_t start = 0;
  while (start <= subject.size()) {
    int rc =
        pcre2_match(code_->code, s, subject.size(), start, PCRE2_NO_UTF_CHECK, st.data, st.context);
    if (rc < 0 && rc != PCRE2_ERROR_NOMATCH) break;  // resource limits: treat the rest as unmatched
    if (rc == PCRE2_ERROR_NOMATCH) break;
    const PCRE2_SIZE* ov = pcre2_get_ovector_pointer(st.data);
    size_t b = ov[0], e = ov[1];
    out->push_back({static_cast<uint32_t>(b), static_cast<uint32_t>(e)});
    if (e > b) {
      start = e;
    } else {
      if (e >= subject.size()) break;
      start = e + Utf8SeqLen(static_cast<unsigned char>(subject[e]));
    }
  }
}

std::string Regex::ReplaceAll(std::string_view subject, std::string_view replacement) const {
  std::vector<Match> matches;
  FindAll(subject, &matches);
  if (matches.empty()) return std::string(subject);
  std::string out;
  out.reserve(subject.size());
  size_t prev = 0;
  for (const Match& m : matches) {
    out.append(subject.substr(prev, m.begin - prev));
    out.append(replacement);
    prev = m.end;
  }
  out.append(subject.substr(prev));
  return out;
}

std::string EscapeRegex(std::string_view text) {
  std::string out;
  for (size_t i = 0; i < text.size();) {
    size_t j = i;
    char32_t cp = NextCodePoint(text, j);
    if (cp < 0x80 &&
        !((cp >= '0' && cp <= '9') || (cp >= 'a' && cp <= 'z') || (cp >= 'A' && cp <= 'Z'))) {
      out += fmt::format("\\x{{{:x}}}", static_cast<uint32_t>(cp));
    } else {
      out.append(text.substr(i, j - i));
    }
    i = j;
  }
  return out;
}

namespace {

constexpr std::string_view kWordClassBody = "\\p{Alphabetic}\\p{M}\\p{Nd}\\p{Pc}";

bool IsAsciiLetter(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
char OtherCase(char c) {
  return c >= 'a' && c <= 'z' ? static_cast<char>(c - 32) : static_cast<char>(c + 32);
}

}  // namespace

Result<std::string> TranslateOniguruma(std::string_view p) {
  std::string out;
  out.reserve(p.size() + 16);
  bool in_class = false;
  size_t class_start = 0;
  // Group nesting; true for groups opened by "(?i:" whose letters get ASCII folding.
  std::vector<bool> groups;
  int fold_depth = 0;
  for (size_t i = 0; i < p.size();) {
    char c = p[i];
    if (c == '\\') {
      if (i + 1 >= p.size()) return InvalidArgument("trailing backslash in pattern");
      char e = p[i + 1];
      std::string_view rest = p.substr(i + 1);
      size_t consumed = 2;
      switch (e) {
        case 's':
          out += "\\p{White_Space}";
          break;
        case 'S':
          out += "\\P{White_Space}";
          break;
        case 'd':
          out += "\\p{Nd}";
          break;
        case 'D':
          out += "\\P{Nd}";
          break;
        case 'w':
          if (in_class) {
            out += kWordClassBody;
          } else {
            out += fmt::format("[{}]", kWordClassBody);
          }
          break;
        case 'W':
          if (in_class) return Unimplemented("\\W inside a character class is not supported");
          out += fmt::format("[^{}]", kWordClassBody);
          break;
        case 'h':
          out += in_class ? "0-9A-Fa-f" : "[0-9A-Fa-f]";
          break;
        case 'H':
          if (in_class) return Unimplemented("\\H inside a character class is not supported");
          out += "[^0-9A-Fa-f]";
          break;
        case 'u':
          if (rest.size() >= 5) {
            out += fmt::format("\\x{{{}}}", rest.substr(1, 4));
            consumed = 6;
            break;
          }
          return InvalidArgument("truncated \\u escape in pattern");
        case 'p':
        case 'P':
        case 'x':
          if (rest.size() >= 2 && rest[1] == '{') {
            size_t close = rest.find('}');
            if (close == std::string_view::npos)
              return InvalidArgument("unterminated \\p{{...}} or \\x{{...}} escape in pattern");
            out.append(p.substr(i, close + 2));
            consumed = close + 2;
            break;
          }
          [[fallthrough]];
        default: {
          // Any other escape keeps its PCRE2 meaning; a multi-byte escaped char is copied whole.
          size_t len = Utf8SeqLen(static_cast<unsigned char>(e));
          out.append(p.substr(i, 1 + len));
          consumed = 1 + len;
          break;
        }
      }
      i += consumed;
      continue;
    }
    if (in_class) {
      if (c == ']' && i > class_start) {
        in_class = false;
        out += c;
        ++i;
        continue;
      }
      if (c == '[' && i + 1 < p.size() && p[i + 1] == ':') {  // POSIX bracket [:alpha:]
        size_t close = p.find(":]", i + 2);
        if (close == std::string_view::npos)
          return InvalidArgument("unterminated POSIX class in pattern");
        out.append(p.substr(i, close + 2 - i));
        i = close + 2;
        continue;
      }
      if (c == '[') return Unimplemented("nested character classes are not supported");
      if (fold_depth > 0 && IsAsciiLetter(c) && i + 2 < p.size() && p[i + 1] == '-' &&
          IsAsciiLetter(p[i + 2])) {
        out += fmt::format("{}-{}{}-{}", c, p[i + 2], OtherCase(c),
                           OtherCase(p[i + 2]));  // a-f -> a-fA-F
        i += 3;
        continue;
      }
      out += c;
      if (fold_depth > 0 && IsAsciiLetter(c)) out += OtherCase(c);
      ++i;
      continue;
    }
    if (c == '[') {
      in_class = true;
      out += c;
      ++i;
      if (i < p.size() && p[i] == '^') out += p[i++];
      class_start = i;  // a ']' right here is a literal
      continue;
    }
    if (c == '(') {
      if (p.substr(i, 4) == "(?i:") {
        groups.push_back(true);
        ++fold_depth;
        out += "(?:";
        i += 4;
        continue;
      }
      groups.push_back(false);
      out += c;
      ++i;
      continue;
    }
    if (c == ')') {
      if (!groups.empty()) {
        if (groups.back()) --fold_depth;
        groups.pop_back();
      }
      out += c;
      ++i;
      continue;
    }
    if (fold_depth > 0 && IsAsciiLetter(c)) {
      out += fmt::format("[{}{}]", c, OtherCase(c));
      ++i;
      continue;
    }
    size_t len = Utf8SeqLen(static_cast<unsigned char>(c));
    out.append(p.substr(i, len));
    i += len;
  }
  if (in_class) return InvalidArgument("unterminated character class in pattern");
  return out;
}

}  // namespace loom::tok
