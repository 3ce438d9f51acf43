#include "tokenizer/normalizers.h"

#include <fmt/format.h>

#include <vector>

#include "tokenizer/regex.h"
#include "tokenizer/unicode.h"

namespace loom::tok {
namespace {

class SequenceNormalizer : public Normalizer {
 public:
  explicit SequenceNormalizer(std::vector<std::unique_ptr<Normalizer>> parts)
      : parts_(std::move(parts)) {}
  void Normalize(std::string& text) const override {
    for (const auto& p : parts_) p->Normalize(text);
  }

 private:
  std::vector<std::unique_ptr<Normalizer>> parts_;
};

class UnicodeNormalizer : public Normalizer {
 public:
  explicit UnicodeNormalizer(NormalForm form) : form_(form) {}
  void Normalize(std::string& text) const override { text = UnicodeNormalize(text, form_); }

 private:
  NormalForm form_;
};

class LowercaseNormalizer : public Normalizer {
 public:
  void Normalize(std::string& text) const override { text = JsToLowerCase(text); }
};

// Strips JS whitespace (String.prototype.trim), as the reference does.
class StripNormalizer : public Normalizer {
 public:
  StripNormalizer(bool left, bool right) : left_(left), right_(right) {}
  void Normalize(std::string& text) const override {
    text = std::string(JsTrim(text, left_, right_));
  }

 private:
  bool left_, right_;
};

// Removes every combining mark (Mn, Mc, Me).
class StripAccentsNormalizer : public Normalizer {
 public:
  void Normalize(std::string& text) const override {
    std::string out;
    out.reserve(text.size());
    for (size_t i = 0; i < text.size();) {
      size_t b = i;
      char32_t cp = NextCodePoint(text, i);
      if (cp < 0x300 || !IsMark(cp)) out.append(text, b, i - b);
    }
    text = std::move(out);
  }
};

class ReplaceNormalizer : public Normalizer {
 public:
  ReplaceNormalizer(Regex pattern, std::string content)
      : pattern_(std::move(pattern)), content_(std::move(content)) {}
  void Normalize(std::string& text) const override { text = pattern_.ReplaceAll(text, content_); }

 private:
  Regex pattern_;
  std::string content_;
};

class PrependNormalizer : public Normalizer {
 public:
  explicit PrependNormalizer(std::string prepend) : prepend_(std::move(prepend)) {}
  void Normalize(std::string& text) const override {
    if (!text.empty()) text.insert(0, prepend_);
  }

 private:
  std::string prepend_;
};

// Maps every byte to its GPT-2 byte-level character.
class ByteLevelNormalizer : public Normalizer {
 public:
  void Normalize(std::string& text) const override {
    std::string out;
    out.reserve(text.size() * 2);
    for (unsigned char c : text) out += ByteToUnicodeUtf8(c);
    text = std::move(out);
  }
};

// The tokenizers.js BertNormalizer: clean_text drops NUL, U+FFFD and Cc/Cf/Co/Cs except \t\n\r and
// maps JS whitespace to ' '; CJK ideographs (BMP ranges only, since the reference walks UTF-16
// units) get spaces around them; lowercase is String.toLowerCase; strip_accents is NFD then
// dropping Mn, and follows `lowercase` when unset.
class BertNormalizer : public Normalizer {
 public:
  BertNormalizer(bool clean_text, bool chinese, bool strip_accents, bool lowercase)
      : clean_text_(clean_text),
        chinese_(chinese),
        strip_accents_(strip_accents),
        lowercase_(lowercase) {}

  void Normalize(std::string& text) const override {
    if (clean_text_) {
      std::string out;
      out.reserve(text.size());
      for (size_t i = 0; i < text.size();) {
        size_t b = i;
        char32_t cp = NextCodePoint(text, i);
        if (cp == 0 || cp == 0xFFFD) continue;
        if (cp != '\t' && cp != '\n' && cp != '\r' && IsControlOrFormat(cp)) continue;
        if (IsJsWhitespace(cp)) {
          out.push_back(' ');
        } else {
          out.append(text, b, i - b);
        }
      }
      text = std::move(out);
    }
    if (chinese_) {
      std::string out;
      out.reserve(text.size() + 16);
      for (size_t i = 0; i < text.size();) {
        size_t b = i;
        char32_t cp = NextCodePoint(text, i);
        bool cjk = (cp >= 0x4E00 && cp <= 0x9FFF) || (cp >= 0x3400 && cp <= 0x4DBF) ||
                   (cp >= 0xF900 && cp <= 0xFAFF);
        if (cjk) out.push_back(' ');
        out.append(text, b, i - b);
        if (cjk) out.push_back(' ');
      }
      text = std::move(out);
    }
    if (lowercase_) text = JsToLowerCase(text);
    if (strip_accents_) {
      std::string nfd = UnicodeNormalize(text, NormalForm::kNfd);
      std::string out;
      out.reserve(nfd.size());
      for (size_t i = 0; i < nfd.size();) {
        size_t b = i;
        char32_t cp = NextCodePoint(nfd, i);
        if (cp < 0x300 || !IsNonspacingMark(cp)) out.append(nfd, b, i - b);
      }
      text = std::move(out);
    }
  }

 private:
  bool clean_text_, chinese_, strip_accents_, lowercase_;
};

// {"String": "..."} or {"Regex": "..."}.
Result<Regex> ParsePattern(const Json& j, const std::string& where) {
  if (const Json* s = Find(j, "String")) {
    if (!s->is_string()) return BadField(Child(where, "String"), "expected a string");
    return Regex::Literal(s->get<std::string>());
  }
  if (const Json* r = Find(j, "Regex")) {
    if (!r->is_string()) return BadField(Child(where, "Regex"), "expected a string");
    return Regex::CompileOniguruma(r->get<std::string>(), Child(where, "Regex"));
  }
  return BadField(where, "expected {\"String\": ...} or {\"Regex\": ...}");
}

}  // namespace

Result<std::unique_ptr<Normalizer>> CreateNormalizer(const Json& j, const std::string& where) {
  if (j.is_null()) return std::unique_ptr<Normalizer>();
  LOOM_ASSIGN_OR_RETURN(std::string type, GetType(j, where));
  if (type == "Sequence") {
    LOOM_ASSIGN_OR_RETURN(const Json* list, GetArray(j, "normalizers", where));
    std::vector<std::unique_ptr<Normalizer>> parts;
    for (size_t i = 0; i < list->size(); ++i) {
      LOOM_ASSIGN_OR_RETURN(auto part,
                            CreateNormalizer((*list)[i], Index(Child(where, "normalizers"), i)));
      if (part) parts.push_back(std::move(part));
    }
    return std::unique_ptr<Normalizer>(new SequenceNormalizer(std::move(parts)));
  }
  if (type == "NFC") return std::unique_ptr<Normalizer>(new UnicodeNormalizer(NormalForm::kNfc));
  if (type == "NFD") return std::unique_ptr<Normalizer>(new UnicodeNormalizer(NormalForm::kNfd));
  if (type == "NFKC") return std::unique_ptr<Normalizer>(new UnicodeNormalizer(NormalForm::kNfkc));
  if (type == "NFKD") return std::unique_ptr<Normalizer>(new UnicodeNormalizer(NormalForm::kNfkd));
  if (type == "Lowercase") return std::unique_ptr<Normalizer>(new LowercaseNormalizer());
  if (type == "StripAccents") return std::unique_ptr<Normalizer>(new StripAccentsNormalizer());
  if (type == "ByteLevel") return std::unique_ptr<Normalizer>(new ByteLevelNormalizer());
  if (type == "Strip") {
    LOOM_ASSIGN_OR_RETURN(bool left, GetBool(j, "strip_left", where, false));
    LOOM_ASSIGN_OR_RETURN(bool right, GetBool(j, "strip_right", where, false));
    return std::unique_ptr<Normalizer>(new StripNormalizer(left, right));
  }
  if (type == "Replace") {
    LOOM_ASSIGN_OR_RETURN(const Json* pattern, GetObject(j, "pattern", where));
    LOOM_ASSIGN_OR_RETURN(Regex re, ParsePattern(*pattern, Child(where, "pattern")));
    LOOM_ASSIGN_OR_RETURN(std::string content, GetString(j, "content", where, ""));
    return std::unique_ptr<Normalizer>(new ReplaceNormalizer(std::move(re), std::move(content)));
  }
  if (type == "Prepend") {
    LOOM_ASSIGN_OR_RETURN(std::string prepend, GetString(j, "prepend", where));
    return std::unique_ptr<Normalizer>(new PrependNormalizer(std::move(prepend)));
  }
  if (type == "BertNormalizer") {
    LOOM_ASSIGN_OR_RETURN(bool clean, GetBool(j, "clean_text", where, true));
    LOOM_ASSIGN_OR_RETURN(bool chinese, GetBool(j, "handle_chinese_chars", where, true));
    LOOM_ASSIGN_OR_RETURN(bool lowercase, GetBool(j, "lowercase", where, true));
    LOOM_ASSIGN_OR_RETURN(bool strip, GetBool(j, "strip_accents", where, lowercase));
    return std::unique_ptr<Normalizer>(new BertNormalizer(clean, chinese, strip, lowercase));
  }
  if (type == "Precompiled") return CreatePrecompiled(j, where);
  return Unsupported(Child(where, "type"), fmt::format("unsupported normalizer type \"{}\"", type));
}

}  // namespace loom::tok
