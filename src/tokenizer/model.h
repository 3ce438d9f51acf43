// Tokenization models: BPE, WordPiece, Unigram (and WordLevel). A model turns the pre-tokenized
// pieces of one section into ids and owns the base vocabulary (added tokens live in
// AddedVocabulary).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/status.h"
#include "tokenizer/json_util.h"
#include "tokenizer/pre_tokenizers.h"

namespace loom::tok {

// std::string keys looked up by std::string_view without a temporary.
struct StringHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};
using TokenMap = std::unordered_map<std::string, int32_t, StringHash, std::equal_to<>>;

// Ids index dense tables; anything this large is a corrupt file, not a vocabulary.
constexpr int64_t kMaxTokenId = int64_t{1} << 24;

// token <-> id. Ids may have holes (id_to_token entry empty and not in token_to_id).
struct Vocab {
  TokenMap token_to_id;
  std::vector<std::string> id_to_token;

  std::optional<int32_t> Find(std::string_view token) const {
    auto it = token_to_id.find(token);
    if (it == token_to_id.end()) return std::nullopt;
    return it->second;
  }
};

class Model {
 public:
  virtual ~Model() = default;
  // Appends the ids of `pieces` (one section's pre-tokens) to `ids`.
  virtual void Tokenize(const std::vector<Piece>& pieces, std::vector<int32_t>& ids) const = 0;
  const Vocab& vocab() const { return vocab_; }
  // BPE end_of_word_suffix (the reference decoder turns it into spaces); empty otherwise.
  virtual std::string_view end_of_word_suffix() const { return {}; }

 protected:
  Vocab vocab_;
};

// tokenizer.json "model". `type` may be absent in old files; it is inferred the way tokenizers.js
// does.
Result<std::unique_ptr<Model>> CreateModel(const Json& j, const std::string& where);

Result<std::unique_ptr<Model>> CreateBpe(const Json& j, const std::string& where);
Result<std::unique_ptr<Model>> CreateWordPiece(const Json& j, const std::string& where);
Result<std::unique_ptr<Model>> CreateUnigram(const Json& j, const std::string& where);
Result<std::unique_ptr<Model>> CreateWordLevel(const Json& j, const std::string& where);

// Reads {"token": id, ...} into `vocab`.
Status ReadVocabObject(const Json& j, const std::string& where, Vocab& vocab);
// Collapses runs of `unk` ids produced for one section into a single one (fuse_unk).
void FuseUnk(std::vector<int32_t>& ids, size_t from, int32_t unk);

}  // namespace loom::tok
