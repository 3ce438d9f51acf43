#include "tokenizer/pre_tokenizers.h"

#include <fmt/format.h>

#include <functional>

#include "tokenizer/regex.h"
#include "tokenizer/unicode.h"

namespace loom::tok {
namespace {

// How matched delimiters are kept (Rust SplitDelimiterBehavior).
enum class Behavior { kRemoved, kIsolated, kMergedWithPrevious, kMergedWithNext, kContiguous };

Result<Behavior> ParseBehavior(const Json& j, const std::string& where, Behavior fallback) {
  const Json* b = Find(j, "behavior");
  if (b == nullptr) return fallback;
  if (!b->is_string()) return BadField(Child(where, "behavior"), "expected a string");
  std::string s = b->get<std::string>();
  if (s == "Removed") return Behavior::kRemoved;
  if (s == "Isolated") return Behavior::kIsolated;
  if (s == "MergedWithPrevious") return Behavior::kMergedWithPrevious;
  if (s == "MergedWithNext") return Behavior::kMergedWithNext;
  if (s == "Contiguous") return Behavior::kContiguous;
  return BadField(Child(where, "behavior"), fmt::format("unknown split behavior \"{}\"", s));
}

// A span of the piece and whether it is a delimiter, covering the piece left to right.
struct Span {
  uint32_t begin, end;
  bool is_match;
};

// Applies `behavior` to alternating spans exactly like the Rust NormalizedString::split and appends
// the resulting non-empty pieces.
void EmitSplits(const Piece& piece, std::vector<Span> spans, Behavior behavior,
                std::vector<Piece>& out) {
  std::vector<Span> merged;
  switch (behavior) {
    case Behavior::kRemoved:
    case Behavior::kIsolated:
      merged = std::move(spans);
      break;
    case Behavior::kContiguous: {
      bool prev_match = false;
      for (const Span& s : spans) {
        if (!merged.empty() && s.is_match == prev_match) {
          merged.back().end = s.end;
        } else {
          merged.push_back({s.begin, s.end, false});
        }
        prev_match = s.is_match;
      }
      break;
    }
    case Behavior::kMergedWithPrevious: {
      bool prev_match = false;
      for (const Span& s : spans) {
        if (s.is_match && !prev_match && !merged.empty()) {
          merged.back().end = s.end;
        } else {
          merged.push_back({s.begin, s.end, false});
        }
        prev_match = s.is_match;
      }
      break;
    }
    case Behavior::kMergedWithNext: {
      bool prev_match = false;
      for (auto it = spans.rbegin(); it != spans.rend(); ++it) {
        if (it->is_match && !prev_match && !merged.empty()) {
          merged.back().begin = it->begin;
        } else {
          merged.push_back({it->begin, it->end, false});
        }
        prev_match = it->is_match;
      }
      std::reverse(merged.begin(), merged.end());
      break;
    }
  }
  for (const Span& s : merged) {
    if (s.end == s.begin) continue;
    if (behavior == Behavior::kRemoved && s.is_match) continue;
    out.push_back({piece.text.substr(s.begin, s.end - s.begin), piece.at_start && s.begin == 0});
  }
}

// Converts matches into covering spans (Rust Pattern::find_matches), optionally inverted.
std::vector<Span> MatchesToSpans(const std::vector<Match>& matches, size_t size, bool invert) {
  std::vector<Span> spans;
  uint32_t prev = 0;
  for (const Match& m : matches) {
    if (m.begin > prev) spans.push_back({prev, m.begin, invert});
    spans.push_back({m.begin, m.end, !invert});
    prev = m.end;
  }
  if (prev < size || spans.empty()) spans.push_back({prev, static_cast<uint32_t>(size), invert});
  return spans;
}

// Splits each piece at code points chosen by `is_delim`, with the given behavior.
void SplitByChar(std::vector<Piece>& pieces, const std::function<bool(char32_t)>& is_delim,
                 Behavior behavior) {
  std::vector<Piece> out;
  out.reserve(pieces.size() * 2);
  std::vector<Match> matches;
  for (const Piece& p : pieces) {
    matches.clear();
    for (size_t i = 0; i < p.text.size();) {
      size_t b = i;
      if (is_delim(NextCodePoint(p.text, i)))
        matches.push_back({static_cast<uint32_t>(b), static_cast<uint32_t>(i)});
    }
    EmitSplits(p, MatchesToSpans(matches, p.text.size(), false), behavior, out);
  }
  pieces = std::move(out);
}

class SequencePreTokenizer : public PreTokenizer {
 public:
  explicit SequencePreTokenizer(std::vector<std::unique_ptr<PreTokenizer>> parts)
      : parts_(std::move(parts)) {}
  void PreTokenize(std::vector<Piece>& pieces) const override {
    for (const auto& p : parts_) p->PreTokenize(pieces);
  }

 private:
  std::vector<std::unique_ptr<PreTokenizer>> parts_;
};

class SplitPreTokenizer : public PreTokenizer {
 public:
  SplitPreTokenizer(Regex re, Behavior behavior, bool invert)
      : re_(std::move(re)), behavior_(behavior), invert_(invert) {}
  void PreTokenize(std::vector<Piece>& pieces) const override {
    std::vector<Piece> out;
    out.reserve(pieces.size() * 4);
    std::vector<Match> matches;
    for (const Piece& p : pieces) {
      re_.FindAll(p.text, &matches);
      if (behavior_ == Behavior::kIsolated &&
          !invert_) {  // hot path (Llama-3, Qwen): no span vector
        uint32_t prev = 0;
        for (const Match& m : matches) {
          if (m.begin > prev)
            out.push_back({p.text.substr(prev, m.begin - prev), p.at_start && prev == 0});
          if (m.end > m.begin)
            out.push_back({p.text.substr(m.begin, m.end - m.begin), p.at_start && m.begin == 0});
          prev = m.end;
        }
        if (prev < p.text.size()) out.push_back({p.text.substr(prev), p.at_start && prev == 0});
        continue;
      }
      EmitSplits(p, MatchesToSpans(matches, p.text.size(), invert_), behavior_, out);
    }
    pieces = std::move(out);
  }

 private:
  Regex re_;
  Behavior behavior_;
  bool invert_;
};

// GPT-2 byte-level: optional prefix space, optional GPT-2 regex split, then bytes -> byte-level
// chars.
class ByteLevelPreTokenizer : public PreTokenizer {
 public:
  ByteLevelPreTokenizer(bool add_prefix_space, bool use_regex, std::optional<Regex> re)
      : add_prefix_space_(add_prefix_space), use_regex_(use_regex), re_(std::move(re)) {
    for (int b = 0; b < 256; ++b) {
      const std::string& u = ByteToUnicodeUtf8(static_cast<uint8_t>(b));
      map_[b] = {static_cast<uint8_t>(u.size()), {u[0], u.size() > 1 ? u[1] : '\0'}};
    }
  }
  void PreTokenize(std::vector<Piece>& pieces) const override {
    if (add_prefix_space_) {
      for (Piece& p : pieces) {
        if (!p.text.starts_with(' ')) p.text.insert(p.text.begin(), ' ');
      }
    }
    if (use_regex_) {
      std::vector<Piece> out;
      std::vector<Match> matches;
      for (const Piece& p : pieces) {
        re_->FindAll(p.text, &matches);
        EmitSplits(p, MatchesToSpans(matches, p.text.size(), false), Behavior::kIsolated, out);
      }
      pieces = std::move(out);
    }
    std::string mapped;
    for (Piece& p : pieces) {
      mapped.resize(p.text.size() * 2);  // every byte maps to a 1- or 2-byte UTF-8 char
      char* out = mapped.data();
      for (unsigned char c : p.text) {
        const Mapped& m = map_[c];
        out[0] = m.bytes[0];
        out[1] = m.bytes[1];
        out += m.len;
      }
      mapped.resize(static_cast<size_t>(out - mapped.data()));
      p.text.swap(mapped);
    }
  }

 private:
  struct Mapped {
    uint8_t len;
    char bytes[2];
  };
  bool add_prefix_space_, use_regex_;
  std::optional<Regex> re_;
  Mapped map_[256];
};

enum class PrependScheme { kAlways, kFirst, kNever };

class MetaspacePreTokenizer : public PreTokenizer {
 public:
  MetaspacePreTokenizer(std::string replacement, PrependScheme scheme, bool split)
      : replacement_(std::move(replacement)), scheme_(scheme), split_(split) {}
  void PreTokenize(std::vector<Piece>& pieces) const override {
    std::vector<Piece> out;
    for (Piece& p : pieces) {
      std::string t;
      t.reserve(p.text.size() + 8);
      for (char c : p.text) {
        if (c == ' ') {
          t += replacement_;
        } else {
          t.push_back(c);
        }
      }
      bool prepend =
          scheme_ == PrependScheme::kAlways || (scheme_ == PrependScheme::kFirst && p.at_start);
      if (prepend && !t.starts_with(replacement_)) t.insert(0, replacement_);
      Piece np{std::move(t), p.at_start};
      if (!split_) {
        out.push_back(std::move(np));
        continue;
      }
      std::vector<Match> matches;
      for (size_t pos = np.text.find(replacement_); pos != std::string::npos;
           pos = np.text.find(replacement_, pos + replacement_.size())) {
        matches.push_back(
            {static_cast<uint32_t>(pos), static_cast<uint32_t>(pos + replacement_.size())});
      }
      EmitSplits(np, MatchesToSpans(matches, np.text.size(), false), Behavior::kMergedWithNext,
                 out);
    }
    pieces = std::move(out);
  }

 private:
  std::string replacement_;
  PrependScheme scheme_;
  bool split_;
};

bool IsBertPunctuation(char32_t cp) { return IsAsciiPunctuation(cp) || IsPunctuation(cp); }

// tokenizers.js: trim, then /[^\s PUNCT]+|[PUNCT]/ — whitespace (JS set) removed, punctuation
// isolated.
class BertPreTokenizer : public PreTokenizer {
 public:
  void PreTokenize(std::vector<Piece>& pieces) const override {
    std::vector<Piece> out;
    for (const Piece& p : pieces) {
      std::string_view t = p.text;
      size_t word_begin = std::string::npos;
      for (size_t i = 0; i <= t.size();) {
        size_t b = i;
        char32_t cp = i < t.size() ? NextCodePoint(t, i) : 0;
        bool end = b == t.size();
        bool space = !end && IsJsWhitespace(cp);
        bool punct = !end && !space && IsBertPunctuation(cp);
        if ((end || space || punct) && word_begin != std::string::npos) {
          out.push_back(
              {std::string(t.substr(word_begin, b - word_begin)), p.at_start && word_begin == 0});
          word_begin = std::string::npos;
        }
        if (end) break;
        if (punct) {
          out.push_back({std::string(t.substr(b, i - b)), p.at_start && b == 0});
        } else if (!space && word_begin == std::string::npos) {
          word_begin = b;
        }
      }
    }
    pieces = std::move(out);
  }
};

// tokenizers.js WhitespaceSplit: runs of non-JS-whitespace.
class WhitespaceSplitPreTokenizer : public PreTokenizer {
 public:
  void PreTokenize(std::vector<Piece>& pieces) const override {
    SplitByChar(
        pieces, [](char32_t cp) { return IsJsWhitespace(cp); }, Behavior::kRemoved);
  }
};

// Rust Whitespace: \w+|[^\w\s]+ with Unicode classes.
class WhitespacePreTokenizer : public PreTokenizer {
 public:
  void PreTokenize(std::vector<Piece>& pieces) const override {
    std::vector<Piece> out;
    for (const Piece& p : pieces) {
      const std::string& t = p.text;
      size_t run_begin = 0;
      int run_kind = 0;  // 0 none, 1 word, 2 other non-space
      for (size_t i = 0; i <= t.size();) {
        size_t b = i;
        int kind = 0;
        if (i < t.size()) {
          char32_t cp = NextCodePoint(t, i);
          kind = IsWordChar(cp) ? 1 : IsWhiteSpace(cp) ? 0 : 2;
        }
        if (kind != run_kind) {
          if (run_kind != 0)
            out.push_back({t.substr(run_begin, b - run_begin), p.at_start && run_begin == 0});
          run_begin = b;
          run_kind = kind;
        }
        if (b == t.size()) break;
      }
    }
    pieces = std::move(out);
  }
};

class FixedLengthPreTokenizer : public PreTokenizer {
 public:
  explicit FixedLengthPreTokenizer(size_t length) : length_(length) {}
  void PreTokenize(std::vector<Piece>& pieces) const override {
    std::vector<Piece> out;
    for (const Piece& p : pieces) {
      size_t begin = 0, n = 0;
      for (size_t i = 0; i < p.text.size();) {
        NextCodePoint(p.text, i);
        if (++n == length_) {
          out.push_back({p.text.substr(begin, i - begin), p.at_start && begin == 0});
          begin = i;
          n = 0;
        }
      }
      if (begin < p.text.size()) out.push_back({p.text.substr(begin), p.at_start && begin == 0});
    }
    pieces = std::move(out);
  }

 private:
  size_t length_;
};

class CharPreTokenizer : public PreTokenizer {
 public:
  CharPreTokenizer(std::function<bool(char32_t)> is_delim, Behavior behavior)
      : is_delim_(std::move(is_delim)), behavior_(behavior) {}
  void PreTokenize(std::vector<Piece>& pieces) const override {
    SplitByChar(pieces, is_delim_, behavior_);
  }

 private:
  std::function<bool(char32_t)> is_delim_;
  Behavior behavior_;
};

// Rust Digits: numeric chars (char::is_numeric) grouped, or each one isolated with
// individual_digits.
class DigitsPreTokenizer : public PreTokenizer {
 public:
  explicit DigitsPreTokenizer(bool individual) : individual_(individual) {}
  void PreTokenize(std::vector<Piece>& pieces) const override {
    SplitByChar(
        pieces, [](char32_t cp) { return IsNumeric(cp); },
        individual_ ? Behavior::kIsolated : Behavior::kContiguous);
  }

 private:
  bool individual_;
};

Result<PrependScheme> ParsePrependScheme(const Json& j, const std::string& where) {
  if (const Json* s = Find(j, "prepend_scheme")) {
    if (!s->is_string()) return BadField(Child(where, "prepend_scheme"), "expected a string");
    std::string v = s->get<std::string>();
    if (v == "always") return PrependScheme::kAlways;
    if (v == "first") return PrependScheme::kFirst;
    if (v == "never") return PrependScheme::kNever;
    return BadField(Child(where, "prepend_scheme"),
                    fmt::format("unknown prepend_scheme \"{}\"", v));
  }
  LOOM_ASSIGN_OR_RETURN(bool add_prefix_space, GetBool(j, "add_prefix_space", where, true));
  return add_prefix_space ? PrependScheme::kAlways : PrependScheme::kNever;
}

}  // namespace

// The GPT-2 pattern the ByteLevel pre-tokenizer uses when use_regex is true (Oniguruma \s
// semantics).
constexpr std::string_view kGpt2Pattern =
    R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";

Result<std::unique_ptr<PreTokenizer>> CreatePreTokenizer(const Json& j, const std::string& where) {
  if (j.is_null()) return std::unique_ptr<PreTokenizer>();
  LOOM_ASSIGN_OR_RETURN(std::string type, GetType(j, where));
  if (type == "Sequence") {
    LOOM_ASSIGN_OR_RETURN(const Json* list, GetArray(j, "pretokenizers", where));
    std::vector<std::unique_ptr<PreTokenizer>> parts;
    for (size_t i = 0; i < list->size(); ++i) {
      LOOM_ASSIGN_OR_RETURN(
          auto part, CreatePreTokenizer((*list)[i], Index(Child(where, "pretokenizers"), i)));
      if (part) parts.push_back(std::move(part));
    }
    return std::unique_ptr<PreTokenizer>(new SequencePreTokenizer(std::move(parts)));
  }
  if (type == "Split") {
    LOOM_ASSIGN_OR_RETURN(const Json* pattern, GetObject(j, "pattern", where));
    std::string wp = Child(where, "pattern");
    std::optional<Regex> re;
    if (const Json* s = Find(*pattern, "String")) {
      if (!s->is_string()) return BadField(Child(wp, "String"), "expected a string");
      re = Regex::Literal(s->get<std::string>());
    } else if (const Json* r = Find(*pattern, "Regex")) {
      if (!r->is_string()) return BadField(Child(wp, "Regex"), "expected a string");
      LOOM_ASSIGN_OR_RETURN(Regex compiled,
                            Regex::CompileOniguruma(r->get<std::string>(), Child(wp, "Regex")));
      re = std::move(compiled);
    } else {
      return BadField(wp, "expected {\"String\": ...} or {\"Regex\": ...}");
    }
    LOOM_ASSIGN_OR_RETURN(Behavior behavior, ParseBehavior(j, where, Behavior::kIsolated));
    LOOM_ASSIGN_OR_RETURN(bool invert, GetBool(j, "invert", where, false));
    return std::unique_ptr<PreTokenizer>(new SplitPreTokenizer(std::move(*re), behavior, invert));
  }
  if (type == "ByteLevel") {
    LOOM_ASSIGN_OR_RETURN(bool add_prefix_space, GetBool(j, "add_prefix_space", where, true));
    LOOM_ASSIGN_OR_RETURN(bool use_regex, GetBool(j, "use_regex", where, true));
    std::optional<Regex> re;
    if (use_regex) {
      LOOM_ASSIGN_OR_RETURN(Regex compiled, Regex::CompileOniguruma(kGpt2Pattern, where));
      re = std::move(compiled);
    }
    return std::unique_ptr<PreTokenizer>(
        new ByteLevelPreTokenizer(add_prefix_space, use_regex, std::move(re)));
  }
  if (type == "Metaspace") {
    LOOM_ASSIGN_OR_RETURN(std::string replacement,
                          GetString(j, "replacement", where, "\xE2\x96\x81"));
    if (replacement.empty()) return BadField(Child(where, "replacement"), "must not be empty");
    LOOM_ASSIGN_OR_RETURN(PrependScheme scheme, ParsePrependScheme(j, where));
    LOOM_ASSIGN_OR_RETURN(bool split, GetBool(j, "split", where, true));
    return std::unique_ptr<PreTokenizer>(
        new MetaspacePreTokenizer(std::move(replacement), scheme, split));
  }
  if (type == "BertPreTokenizer") return std::unique_ptr<PreTokenizer>(new BertPreTokenizer());
  if (type == "WhitespaceSplit")
    return std::unique_ptr<PreTokenizer>(new WhitespaceSplitPreTokenizer());
  if (type == "Whitespace") return std::unique_ptr<PreTokenizer>(new WhitespacePreTokenizer());
  if (type == "Digits") {
    LOOM_ASSIGN_OR_RETURN(bool individual, GetBool(j, "individual_digits", where, false));
    return std::unique_ptr<PreTokenizer>(new DigitsPreTokenizer(individual));
  }
  if (type == "Punctuation") {
    LOOM_ASSIGN_OR_RETURN(Behavior behavior, ParseBehavior(j, where, Behavior::kIsolated));
    return std::unique_ptr<PreTokenizer>(new CharPreTokenizer(IsBertPunctuation, behavior));
  }
  if (type == "CharDelimiterSplit") {
    LOOM_ASSIGN_OR_RETURN(std::string delim, GetString(j, "delimiter", where));
    if (delim.empty() || CountCodePoints(delim) != 1)
      return BadField(Child(where, "delimiter"), "expected one character");
    size_t k = 0;
    char32_t d = NextCodePoint(delim, k);
    return std::unique_ptr<PreTokenizer>(
        new CharPreTokenizer([d](char32_t cp) { return cp == d; }, Behavior::kRemoved));
  }
  if (type == "FixedLength") {
    LOOM_ASSIGN_OR_RETURN(int64_t length, GetInt(j, "length", where, 5));
    if (length <= 0) return BadField(Child(where, "length"), "must be positive");
    return std::unique_ptr<PreTokenizer>(new FixedLengthPreTokenizer(static_cast<size_t>(length)));
  }
  return Unsupported(Child(where, "type"),
                     fmt::format("unsupported pre_tokenizer type \"{}\"", type));
}

}  // namespace loom::tok
