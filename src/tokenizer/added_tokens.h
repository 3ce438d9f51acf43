// Added tokens (tokenizer.json "added_tokens"): matched in the text before the model runs.
// Tokens with normalized=false are matched in the raw text, the others in each normalized section;
// matching is leftmost-longest over a byte trie. lstrip/rstrip swallow the whitespace next to a
// match (tokenizers.js trims the neighbouring sections); single_word requires non-word characters
// (or the text edge) around the match (Rust semantics; tokenizers.js ignores the flag).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "tokenizer/model.h"

namespace loom::tok {

struct AddedToken {
  std::string content;
  int32_t id = 0;
  bool single_word = false, lstrip = false, rstrip = false, normalized = true, special = false;
};

// One piece of split text: either plain text or the index of the added token it matched.
struct Section {
  std::string_view text;
  int32_t token = -1;  // index into AddedVocabulary::tokens(), -1 for plain text
};

class AddedTokenMatcher {
 public:
  // `patterns[i]` is matched as token index `token_index[i]`.
  void Build(const std::vector<std::string>& patterns, const std::vector<int32_t>& token_index);
  bool empty() const { return node_token_.size() <= 1; }
  // Splits `text` into plain and matched sections (no empty plain sections).
  void Split(std::string_view text, const std::vector<AddedToken>& tokens,
             std::vector<Section>& out) const;

 private:
  int32_t Child(int32_t node, unsigned char c) const {
    auto it = edges_.find((uint64_t(uint32_t(node)) << 8) | c);
    return it == edges_.end() ? -1 : it->second;
  }
  std::unordered_map<uint64_t, int32_t> edges_;
  std::vector<int32_t> node_token_{-1};
  bool first_byte_[256] = {};
};

class AddedVocabulary {
 public:
  void Add(AddedToken token) { tokens_.push_back(std::move(token)); }
  // Builds both matchers; `normalize` maps a normalized token's content to the form it is matched
  // in.
  template <typename NormalizeFn>
  void Finalize(NormalizeFn normalize) {
    std::vector<std::string> raw, norm;
    std::vector<int32_t> raw_idx, norm_idx;
    for (size_t i = 0; i < tokens_.size(); ++i) {
      const AddedToken& t = tokens_[i];
      by_content_.emplace(t.content, static_cast<int32_t>(i));
      by_id_[t.id] = static_cast<int32_t>(i);
      if (t.normalized) {
        std::string n = normalize(t.content);
        by_content_.emplace(n, static_cast<int32_t>(i));
        norm.push_back(std::move(n));
        norm_idx.push_back(static_cast<int32_t>(i));
      } else {
        raw.push_back(t.content);
        raw_idx.push_back(static_cast<int32_t>(i));
      }
    }
    raw_matcher_.Build(raw, raw_idx);
    normalized_matcher_.Build(norm, norm_idx);
  }

  const std::vector<AddedToken>& tokens() const { return tokens_; }
  const AddedTokenMatcher& raw_matcher() const { return raw_matcher_; }
  const AddedTokenMatcher& normalized_matcher() const { return normalized_matcher_; }
  // Token index whose content (or normalized content) is exactly `text`, or -1.
  int32_t FindContent(std::string_view text) const {
    auto it = by_content_.find(text);
    return it == by_content_.end() ? -1 : it->second;
  }
  const AddedToken* FindId(int32_t id) const {
    auto it = by_id_.find(id);
    return it == by_id_.end() ? nullptr : &tokens_[it->second];
  }

 private:
  std::vector<AddedToken> tokens_;
  std::unordered_map<std::string, int32_t, StringHash, std::equal_to<>> by_content_;
  std::unordered_map<int32_t, int32_t> by_id_;
  AddedTokenMatcher raw_matcher_, normalized_matcher_;
};

// Applies lstrip/rstrip of matched (or content-equal) sections to their neighbours, in order,
// exactly as tokenizers.js does (JS whitespace, neighbours trimmed in place).
void ApplyStrips(std::vector<Section>& sections, const AddedVocabulary& added);

}  // namespace loom::tok
