// StreamingDetokenizer: decode a sliding window of ids; release only text no later id can change.
//
// What later ids can change, given the decoders tokenizer.json uses:
//  * a UTF-8 sequence split across byte tokens: the window decodes to a trailing U+FFFD until the
//    sequence is complete;
//  * clean_up_tokenization: the window is decoded *without* it and each released chunk is cleaned
//    on its own, so a chunk boundary must never fall inside an occurrence (complete, or still open
//    at the end of the text) of a cleanup pattern;
//  * BPEDecoder suffixes / Strip from the end: the last token's text itself.
// Effects on the *first* token of a window (Metaspace and Strip drop a leading space, WordPiece
// adds none) are why the window keeps a few already-released ids in front: the window only moves
// forward to a start whose decode is a non-empty suffix of the current window text, i.e. a start
// where those first-token effects change nothing that is not already released.
#include <algorithm>

#include "tokenizer/tokenizer.h"
#include "tokenizer/tokenizer_impl.h"

namespace loom {
namespace {

constexpr std::string_view kReplacementChar = "\xEF\xBF\xBD";
constexpr size_t kMaxWindow = 16;   // ids decoded per Push once the window can move
constexpr size_t kKeepContext = 4;  // already-released ids kept in front of new ones

}  // namespace

StreamingDetokenizer::StreamingDetokenizer(const Tokenizer& tokenizer, bool skip_special_tokens,
                                           std::span<const int32_t> prompt_ids)
    : tokenizer_(tokenizer), skip_special_tokens_(skip_special_tokens) {
  for (int32_t id : prompt_ids) {
    if (!(skip_special_tokens_ && tokenizer_.IsSpecial(id))) window_.push_back(id);
  }
  if (window_.size() > kKeepContext) window_.erase(window_.begin(), window_.end() - kKeepContext);
  released_ = tokenizer_.impl_->DecodeIds(window_, skip_special_tokens_, false).size();
}

size_t StreamingDetokenizer::StableLength(const std::string& text) const {
  const TokenizerImpl& impl = *tokenizer_.impl_;
  size_t n = text.size();
  if (impl.tail_depends_on_next_token && !window_.empty()) {
    std::span<const int32_t> head(window_.data(), window_.size() - 1);
    std::string without_last = impl.DecodeIds(head, skip_special_tokens_, false);
    size_t common = 0;
    while (common < std::min(n, without_last.size()) && text[common] == without_last[common])
      ++common;
    n = std::min(n, common);
  }
  while (n >= kReplacementChar.size() &&
         std::string_view(text).substr(n - kReplacementChar.size(), kReplacementChar.size()) ==
             kReplacementChar) {
    n -= kReplacementChar.size();
  }
  if (impl.config.clean_up_tokenization_spaces) {
    // Move the cut left until no (possibly still incomplete) occurrence of a cleanup pattern
    // straddles it. " n ' t" is the one chained form: " ' " -> "'" turns it into " n't".
    static constexpr std::string_view kPatterns[] = {" .",  " ?",  " !",   " ,",   " ' ",   " n't",
                                                     " 'm", " 's", " 've", " 're", " n ' t"};
    for (bool moved = true; moved && n > 0;) {
      moved = false;
      for (std::string_view p : kPatterns) {
        size_t first = n >= p.size() ? n - p.size() + 1 : 0;
        for (size_t s = first; s < n; ++s) {
          size_t avail = std::min(p.size(), text.size() - s);
          if (std::string_view(text).substr(s, avail) == p.substr(0, avail)) {
            n = s;
            moved = true;
            break;
          }
        }
        if (moved) break;
      }
    }
  }
  return n;
}

void StreamingDetokenizer::MaybeAdvanceWindow(const std::string& text) {
  if (window_.size() <= kMaxWindow || released_ != text.size()) return;
  const TokenizerImpl& impl = *tokenizer_.impl_;
  for (size_t keep = kKeepContext; keep <= kMaxWindow / 2; keep += 2) {
    size_t start = window_.size() - keep;
    std::span<const int32_t> tail(window_.data() + start, keep);
    std::string tail_text = impl.DecodeIds(tail, skip_special_tokens_, false);
    if (tail_text.empty() || !std::string_view(text).ends_with(tail_text)) continue;
    window_.erase(window_.begin(), window_.begin() + static_cast<std::ptrdiff_t>(start));
    released_ = tail_text.size();
    return;
  }
}

std::string StreamingDetokenizer::Push(int32_t id) {
  if (skip_special_tokens_ && tokenizer_.IsSpecial(id)) return "";  // Decode(skip) drops it too
  window_.push_back(id);
  std::string text = tokenizer_.impl_->DecodeIds(window_, skip_special_tokens_, false);
  size_t stable = StableLength(text);
  std::string out;
  if (stable > released_) {
    out = Finish(std::string_view(text).substr(released_, stable - released_));
    released_ = stable;
  }
  MaybeAdvanceWindow(text);
  return out;
}

std::string StreamingDetokenizer::Flush() {
  std::string text = tokenizer_.impl_->DecodeIds(window_, skip_special_tokens_, false);
  std::string out =
      released_ < text.size() ? Finish(std::string_view(text).substr(released_)) : std::string();
  released_ = std::max(released_, text.size());
  return out;
}

std::string StreamingDetokenizer::Finish(std::string_view raw) const {
  if (!tokenizer_.impl_->config.clean_up_tokenization_spaces) return std::string(raw);
  return tok::CleanUpTokenization(raw);
}

}  // namespace loom
