// PCRE2 (UTF + UCP + JIT) behind a small interface, plus the translation of the Oniguruma-flavoured
// patterns found in tokenizer.json into PCRE2 syntax with the same meaning.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/status.h"

namespace loom::tok {

// One match as byte offsets [begin, end) into the subject.
struct Match {
  uint32_t begin, end;
};

class Regex {
 public:
  // `pattern` is PCRE2 syntax. `where` names the JSON field for error messages.
  static Result<Regex> Compile(const std::string& pattern, std::string_view where);
  // Oniguruma syntax as written in tokenizer.json (see TranslateOniguruma).
  static Result<Regex> CompileOniguruma(std::string_view pattern, std::string_view where);
  static Regex Literal(std::string_view text);

  // Every non-overlapping match, left to right. After an empty match the search resumes one code
  // point later (JavaScript matchAll / Rust find_iter). The subject must be valid UTF-8.
  void FindAll(std::string_view subject, std::vector<Match>* out) const;
  // Replaces every match with `replacement` (taken literally).
  std::string ReplaceAll(std::string_view subject, std::string_view replacement) const;

 private:
  struct Code;
  std::shared_ptr<const Code> code_;
};

// Oniguruma (the Rust tokenizers crate) -> PCRE2, matching the semantics tokenizers.js also
// emulates:
//   \s \S      -> \p{White_Space} / \P{White_Space}   (PCRE2's UCP \s would add U+180E)
//   \d \D      -> \p{Nd} / \P{Nd}
//   \w \W      -> Alphabetic | M | Nd | Pc (and its complement outside classes)
//   \h \H      -> hex digit (Oniguruma), not horizontal space (PCRE2)
//   \uHHHH     -> \x{HHHH}
//   (?i: ... ) -> ASCII-only case folding of the letters inside, so "(?i:'s)" does not match "'ſ"
Result<std::string> TranslateOniguruma(std::string_view pattern);

// Quotes `text` so that it matches literally.
std::string EscapeRegex(std::string_view text);

}  // namespace loom::tok
