#include "tokenizer/added_tokens.h"

#include "tokenizer/unicode.h"

namespace loom::tok {

void AddedTokenMatcher::Build(const std::vector<std::string>& patterns,
                              const std::vector<int32_t>& token_index) {
  for (size_t i = 0; i < patterns.size(); ++i) {
    const std::string& p = patterns[i];
    if (p.empty()) continue;
    first_byte_[static_cast<unsigned char>(p[0])] = true;
    int32_t node = 0;
    for (unsigned char c : p) {
      int32_t next = Child(node, c);
      if (next < 0) {
        next = static_cast<int32_t>(node_token_.size());
        node_token_.push_back(-1);
        edges_.emplace((uint64_t(uint32_t(node)) << 8) | c, next);
      }
      node = next;
    }
    if (node_token_[node] < 0) node_token_[node] = token_index[i];  // first definition wins
  }
}

void AddedTokenMatcher::Split(std::string_view text, const std::vector<AddedToken>& tokens,
                              std::vector<Section>& out) const {
  out.clear();
  if (empty()) {
    if (!text.empty()) out.push_back({text, -1});
    return;
  }
  size_t start = 0, i = 0, n = text.size();
  while (i < n) {
    if (!first_byte_[static_cast<unsigned char>(text[i])]) {
      ++i;
      continue;
    }
    int32_t node = 0, match = -1;
    size_t match_end = 0;
    for (size_t j = i; j < n; ++j) {
      node = Child(node, static_cast<unsigned char>(text[j]));
      if (node < 0) break;
      if (node_token_[node] >= 0) {
        match = node_token_[node];
        match_end = j + 1;
      }
    }
    if (match >= 0 && tokens[match].single_word) {
      size_t b = i, e = match_end;
      bool ok = true;
      if (b > 0) ok &= !IsWordChar(PrevCodePoint(text, b));
      if (e < n) ok &= !IsWordChar(NextCodePoint(text, e));
      if (!ok) match = -1;
    }
    if (match < 0) {
      ++i;
      continue;
    }
    if (i > start) out.push_back({text.substr(start, i - start), -1});
    out.push_back({text.substr(i, match_end - i), match});
    i = start = match_end;
  }
  if (start < n) out.push_back({text.substr(start), -1});
}

void ApplyStrips(std::vector<Section>& sections, const AddedVocabulary& added) {
  for (size_t i = 0; i < sections.size(); ++i) {
    int32_t t = added.FindContent(sections[i].text);  // by content, as tokenizers.js does
    if (t < 0) continue;
    const AddedToken& tok = added.tokens()[t];
    if (tok.lstrip && i > 0) sections[i - 1].text = JsTrim(sections[i - 1].text, false, true);
    if (tok.rstrip && i + 1 < sections.size())
      sections[i + 1].text = JsTrim(sections[i + 1].text, true, false);
  }
}

}  // namespace loom::tok
