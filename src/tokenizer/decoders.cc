#include "tokenizer/decoders.h"

#include <fmt/format.h>

#include "tokenizer/regex.h"
#include "tokenizer/unicode.h"

namespace loom::tok {
namespace {

void ReplaceAll(std::string& s, std::string_view from, std::string_view to) {
  if (from.empty()) return;
  std::string out;
  size_t prev = 0;
  for (size_t pos = s.find(from); pos != std::string::npos; pos = s.find(from, prev)) {
    out.append(s, prev, pos - prev);
    out.append(to);
    prev = pos + from.size();
  }
  if (prev == 0) return;
  out.append(s, prev, std::string::npos);
  s = std::move(out);
}

// Maps byte-level characters back to bytes. Runs between added tokens are decoded (lossily) on
// their own and added tokens are kept verbatim, as tokenizers.js does; a token with a character
// outside the byte alphabet contributes its raw UTF-8 (Rust).
class ByteLevelDecoder : public Decoder {
 public:
  explicit ByteLevelDecoder(std::shared_ptr<const AddedContents> added)
      : added_(std::move(added)) {}
  void DecodeChain(std::vector<std::string>& tokens) const override {
    std::vector<std::string> out;
    std::string bytes;
    auto flush = [&] {
      if (bytes.empty()) return;
      std::string text;
      AppendUtf8Lossy(text, bytes);
      out.push_back(std::move(text));
      bytes.clear();
    };
    for (std::string& t : tokens) {
      if (added_ && added_->count(t)) {
        flush();
        out.push_back(std::move(t));
        continue;
      }
      size_t mark = bytes.size();
      bool ok = true;
      for (size_t i = 0; i < t.size();) {
        int b = UnicodeToByte(NextCodePoint(t, i));
        if (b < 0) {
          ok = false;
          break;
        }
        bytes.push_back(static_cast<char>(b));
      }
      if (!ok) {
        bytes.resize(mark);
        bytes += t;
      }
    }
    flush();
    tokens = std::move(out);
  }

 private:
  std::shared_ptr<const AddedContents> added_;
};

// tokenizers.js: every replacement char becomes ' ', then the first token loses one leading space
// (unless prepend_scheme is "never", where the Rust crate keeps it).
class MetaspaceDecoder : public Decoder {
 public:
  MetaspaceDecoder(std::string replacement, bool strip_first)
      : replacement_(std::move(replacement)), strip_first_(strip_first) {}
  void DecodeChain(std::vector<std::string>& tokens) const override {
    for (size_t i = 0; i < tokens.size(); ++i) {
      ReplaceAll(tokens[i], replacement_, " ");
      if (i == 0 && strip_first_ && tokens[i].starts_with(' ')) tokens[i].erase(0, 1);
    }
  }

 private:
  std::string replacement_;
  bool strip_first_;
};

class WordPieceDecoder : public Decoder {
 public:
  WordPieceDecoder(std::string prefix, bool cleanup)
      : prefix_(std::move(prefix)), cleanup_(cleanup) {}
  void DecodeChain(std::vector<std::string>& tokens) const override {
    for (size_t i = 0; i < tokens.size(); ++i) {
      std::string& t = tokens[i];
      if (i != 0) {
        if (!prefix_.empty() && t.starts_with(prefix_)) {
          t.erase(0, prefix_.size());
        } else {
          t.insert(t.begin(), ' ');
        }
      }
      if (cleanup_) t = CleanUpTokenization(t);
    }
  }

 private:
  std::string prefix_;
  bool cleanup_;
};

class BpeDecoder : public Decoder {
 public:
  explicit BpeDecoder(std::string suffix) : suffix_(std::move(suffix)) {}
  void DecodeChain(std::vector<std::string>& tokens) const override {
    for (size_t i = 0; i < tokens.size(); ++i)
      ReplaceAll(tokens[i], suffix_, i + 1 == tokens.size() ? "" : " ");
  }
  bool TailDependsOnNextToken() const override { return !suffix_.empty(); }

 private:
  std::string suffix_;
};

// Runs of <0xXX> tokens become their bytes, decoded lossily (TextDecoder semantics).
class ByteFallbackDecoder : public Decoder {
 public:
  void DecodeChain(std::vector<std::string>& tokens) const override {
    std::vector<std::string> out;
    std::string bytes;
    auto flush = [&] {
      if (bytes.empty()) return;
      std::string text;
      AppendUtf8Lossy(text, bytes);
      out.push_back(std::move(text));
      bytes.clear();
    };
    for (std::string& t : tokens) {
      int value = -1;
      if (t.size() == 6 && t.starts_with("<0x") && t[5] == '>') {
        auto hex = [](char c) {
          return c >= '0' && c <= '9'   ? c - '0'
                 : c >= 'A' && c <= 'F' ? c - 'A' + 10
                 : c >= 'a' && c <= 'f' ? c - 'a' + 10
                                        : -1;
        };
        int hi = hex(t[3]), lo = hex(t[4]);
        if (hi >= 0 && lo >= 0) value = hi * 16 + lo;
      }
      if (value >= 0) {
        bytes.push_back(static_cast<char>(value));
      } else {
        flush();
        out.push_back(std::move(t));
      }
    }
    flush();
    tokens = std::move(out);
  }
};

class FuseDecoder : public Decoder {
 public:
  void DecodeChain(std::vector<std::string>& tokens) const override {
    std::string all;
    for (const std::string& t : tokens) all += t;
    tokens.assign(1, std::move(all));
  }
};

// Per token, removes up to `start` leading and `stop` trailing occurrences of `content` (one char).
class StripDecoder : public Decoder {
 public:
  StripDecoder(std::string content, size_t start, size_t stop)
      : content_(std::move(content)), start_(start), stop_(stop) {}
  void DecodeChain(std::vector<std::string>& tokens) const override {
    for (std::string& t : tokens) {
      size_t begin = 0;
      for (size_t k = 0; k < start_ && t.compare(begin, content_.size(), content_) == 0; ++k)
        begin += content_.size();
      size_t end = t.size();
      for (size_t k = 0; k < stop_ && end >= begin + content_.size() &&
                         t.compare(end - content_.size(), content_.size(), content_) == 0;
           ++k) {
        end -= content_.size();
      }
      t = t.substr(begin, end - begin);
    }
  }
  bool TailDependsOnNextToken() const override { return stop_ > 0; }

 private:
  std::string content_;
  size_t start_, stop_;
};

class ReplaceDecoder : public Decoder {
 public:
  explicit ReplaceDecoder(Regex re, std::string content)
      : re_(std::move(re)), content_(std::move(content)) {}
  void DecodeChain(std::vector<std::string>& tokens) const override {
    for (std::string& t : tokens) t = re_.ReplaceAll(t, content_);
  }

 private:
  Regex re_;
  std::string content_;
};

class CtcDecoder : public Decoder {
 public:
  CtcDecoder(std::string pad, std::string delim, bool cleanup)
      : pad_(std::move(pad)), delim_(std::move(delim)), cleanup_(cleanup) {}
  void DecodeChain(std::vector<std::string>& tokens) const override {
    std::string text;
    const std::string* prev = nullptr;
    for (const std::string& t : tokens) {
      if (prev != nullptr && *prev == t) continue;
      prev = &t;
      if (t != pad_) text += t;
    }
    if (cleanup_) {
      text = CleanUpTokenization(text);
      ReplaceAll(text, delim_, " ");
      text = std::string(JsTrim(text, true, true));
    }
    tokens.assign(1, std::move(text));
  }

 private:
  std::string pad_, delim_;
  bool cleanup_;
};

class SequenceDecoder : public Decoder {
 public:
  explicit SequenceDecoder(std::vector<std::unique_ptr<Decoder>> parts)
      : parts_(std::move(parts)) {}
  void DecodeChain(std::vector<std::string>& tokens) const override {
    for (const auto& p : parts_) p->DecodeChain(tokens);
  }
  bool TailDependsOnNextToken() const override {
    for (const auto& p : parts_) {
      if (p->TailDependsOnNextToken()) return true;
    }
    return false;
  }

 private:
  std::vector<std::unique_ptr<Decoder>> parts_;
};

}  // namespace

std::string CleanUpTokenization(std::string_view text) {
  std::string s(text);
  static constexpr std::pair<std::string_view, std::string_view> kRules[] = {
      {" .", "."},     {" ?", "?"},   {" !", "!"},   {" ,", ","},     {" ' ", "'"},
      {" n't", "n't"}, {" 'm", "'m"}, {" 's", "'s"}, {" 've", "'ve"}, {" 're", "'re"}};
  for (const auto& [from, to] : kRules) ReplaceAll(s, from, to);
  return s;
}

Result<std::unique_ptr<Decoder>> CreateDecoder(const Json& j, const std::string& where,
                                               std::shared_ptr<const AddedContents> added) {
  if (j.is_null()) return std::unique_ptr<Decoder>();
  LOOM_ASSIGN_OR_RETURN(std::string type, GetType(j, where));
  if (type == "ByteLevel") return std::unique_ptr<Decoder>(new ByteLevelDecoder(std::move(added)));
  if (type == "Metaspace") {
    LOOM_ASSIGN_OR_RETURN(std::string replacement,
                          GetString(j, "replacement", where, "\xE2\x96\x81"));
    bool strip_first = true;
    if (const Json* s = Find(j, "prepend_scheme"); s && s->is_string()) {
      strip_first = s->get<std::string>() != "never";
    } else {
      LOOM_ASSIGN_OR_RETURN(strip_first, GetBool(j, "add_prefix_space", where, true));
    }
    return std::unique_ptr<Decoder>(new MetaspaceDecoder(std::move(replacement), strip_first));
  }
  if (type == "WordPiece") {
    LOOM_ASSIGN_OR_RETURN(std::string prefix, GetString(j, "prefix", where, "##"));
    LOOM_ASSIGN_OR_RETURN(bool cleanup, GetBool(j, "cleanup", where, true));
    return std::unique_ptr<Decoder>(new WordPieceDecoder(std::move(prefix), cleanup));
  }
  if (type == "BPEDecoder") {
    LOOM_ASSIGN_OR_RETURN(std::string suffix, GetString(j, "suffix", where, "</w>"));
    return std::unique_ptr<Decoder>(new BpeDecoder(std::move(suffix)));
  }
  if (type == "ByteFallback") return std::unique_ptr<Decoder>(new ByteFallbackDecoder());
  if (type == "Fuse") return std::unique_ptr<Decoder>(new FuseDecoder());
  if (type == "Strip") {
    LOOM_ASSIGN_OR_RETURN(std::string content, GetString(j, "content", where, " "));
    LOOM_ASSIGN_OR_RETURN(int64_t start, GetInt(j, "start", where, 0));
    LOOM_ASSIGN_OR_RETURN(int64_t stop, GetInt(j, "stop", where, 0));
    if (content.empty() || start < 0 || stop < 0)
      return BadField(where, "expected one content char and start/stop >= 0");
    return std::unique_ptr<Decoder>(new StripDecoder(std::move(content), static_cast<size_t>(start),
                                                     static_cast<size_t>(stop)));
  }
  if (type == "Replace") {
    LOOM_ASSIGN_OR_RETURN(const Json* pattern, GetObject(j, "pattern", where));
    std::string wp = Child(where, "pattern");
    std::optional<Regex> re;
    if (const Json* s = Find(*pattern, "String"); s && s->is_string()) {
      re = Regex::Literal(s->get<std::string>());
    } else if (const Json* r = Find(*pattern, "Regex"); r && r->is_string()) {
      LOOM_ASSIGN_OR_RETURN(Regex compiled,
                            Regex::CompileOniguruma(r->get<std::string>(), Child(wp, "Regex")));
      re = std::move(compiled);
    } else {
      return BadField(wp, "expected {\"String\": ...} or {\"Regex\": ...}");
    }
    LOOM_ASSIGN_OR_RETURN(std::string content, GetString(j, "content", where, ""));
    return std::unique_ptr<Decoder>(new ReplaceDecoder(std::move(*re), std::move(content)));
  }
  if (type == "CTC") {
    LOOM_ASSIGN_OR_RETURN(std::string pad, GetString(j, "pad_token", where, "<pad>"));
    LOOM_ASSIGN_OR_RETURN(std::string delim, GetString(j, "word_delimiter_token", where, "|"));
    LOOM_ASSIGN_OR_RETURN(bool cleanup, GetBool(j, "cleanup", where, true));
    return std::unique_ptr<Decoder>(new CtcDecoder(std::move(pad), std::move(delim), cleanup));
  }
  if (type == "Sequence") {
    LOOM_ASSIGN_OR_RETURN(const Json* list, GetArray(j, "decoders", where));
    std::vector<std::unique_ptr<Decoder>> parts;
    for (size_t i = 0; i < list->size(); ++i) {
      LOOM_ASSIGN_OR_RETURN(auto part,
                            CreateDecoder((*list)[i], Index(Child(where, "decoders"), i), added));
      if (part) parts.push_back(std::move(part));
    }
    return std::unique_ptr<Decoder>(new SequenceDecoder(std::move(parts)));
  }
  return Unsupported(Child(where, "type"), fmt::format("unsupported decoder type \"{}\"", type));
}

}  // namespace loom::tok
