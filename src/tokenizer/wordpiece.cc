// WordPiece (BERT): greedy longest-match-first over each piece; continuation pieces carry the
// continuing_subword_prefix ("##"). A piece longer than max_input_chars_per_word characters, or one
// that cannot be covered, becomes a single unk_token.
#include <fmt/format.h>

#include "tokenizer/model.h"
#include "tokenizer/unicode.h"

namespace loom::tok {
namespace {

class WordPiece : public Model {
 public:
  Status Init(const Json& j, const std::string& where) {
    LOOM_ASSIGN_OR_RETURN(const Json* vocab, GetObject(j, "vocab", where));
    LOOM_RETURN_IF_ERROR(ReadVocabObject(*vocab, Child(where, "vocab"), vocab_));
    LOOM_ASSIGN_OR_RETURN(std::string unk, GetString(j, "unk_token", where, "[UNK]"));
    auto unk_id = vocab_.Find(unk);
    if (!unk_id)
      return BadField(Child(where, "unk_token"), fmt::format("\"{}\" is not in model.vocab", unk));
    unk_ = *unk_id;
    LOOM_ASSIGN_OR_RETURN(prefix_, GetString(j, "continuing_subword_prefix", where, "##"));
    LOOM_ASSIGN_OR_RETURN(int64_t max_chars, GetInt(j, "max_input_chars_per_word", where, 100));
    max_chars_ = static_cast<size_t>(std::max<int64_t>(0, max_chars));
    return Status::Ok();
  }

  void Tokenize(const std::vector<Piece>& pieces, std::vector<int32_t>& ids) const override {
    std::vector<size_t> bounds;  // byte offset of every character boundary
    std::string candidate;
    for (const Piece& p : pieces) {
      const std::string& w = p.text;
      bounds.clear();
      for (size_t i = 0; i < w.size();) {
        bounds.push_back(i);
        NextCodePoint(w, i);
      }
      bounds.push_back(w.size());
      size_t n_chars = bounds.size() - 1;
      if (n_chars > max_chars_) {
        ids.push_back(unk_);
        continue;
      }
      size_t mark = ids.size();
      bool unknown = false;
      for (size_t start = 0; start < n_chars;) {
        size_t end = n_chars;
        int32_t found = -1;
        for (; end > start; --end) {
          std::string_view sub =
              std::string_view(w).substr(bounds[start], bounds[end] - bounds[start]);
          std::optional<int32_t> id;
          if (start > 0) {
            candidate.assign(prefix_);
            candidate.append(sub);
            id = vocab_.Find(candidate);
          } else {
            id = vocab_.Find(sub);
          }
          if (id) {
            found = *id;
            break;
          }
        }
        if (found < 0) {
          unknown = true;
          break;
        }
        ids.push_back(found);
        start = end;
      }
      if (unknown) {
        ids.resize(mark);
        ids.push_back(unk_);
      }
    }
  }

 private:
  int32_t unk_ = 0;
  std::string prefix_;
  size_t max_chars_ = 100;
};

}  // namespace

Result<std::unique_ptr<Model>> CreateWordPiece(const Json& j, const std::string& where) {
  auto m = std::make_unique<WordPiece>();
  LOOM_RETURN_IF_ERROR(m->Init(j, where));
  return std::unique_ptr<Model>(std::move(m));
}

}  // namespace loom::tok
