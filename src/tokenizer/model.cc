#include "tokenizer/model.h"

#include <fmt/format.h>

namespace loom::tok {

Status ReadVocabObject(const Json& j, const std::string& where, Vocab& vocab) {
  if (!j.is_object())
    return BadField(where, fmt::format("expected an object of token -> id, got {}", j.type_name()));
  vocab.token_to_id.reserve(j.size());
  int64_t max_id = -1;
  for (auto it = j.begin(); it != j.end(); ++it) {
    if (!it.value().is_number_integer())
      return BadField(Child(where, it.key()), "expected an integer id");
    int64_t id = it.value().get<int64_t>();
    if (id < 0 || id >= kMaxTokenId) {
      return BadField(Child(where, it.key()),
                      fmt::format("id {} out of range [0, {})", id, kMaxTokenId));
    }
    max_id = std::max(max_id, id);
    vocab.token_to_id.emplace(it.key(), static_cast<int32_t>(id));
  }
  vocab.id_to_token.assign(static_cast<size_t>(max_id + 1), std::string());
  for (const auto& [token, id] : vocab.token_to_id) vocab.id_to_token[id] = token;
  return Status::Ok();
}

void FuseUnk(std::vector<int32_t>& ids, size_t from, int32_t unk) {
  size_t w = from;
  for (size_t r = from; r < ids.size(); ++r) {
    if (ids[r] == unk && w > from && ids[w - 1] == unk) continue;
    ids[w++] = ids[r];
  }
  ids.resize(w);
}

Result<std::unique_ptr<Model>> CreateModel(const Json& j, const std::string& where) {
  if (!j.is_object()) return BadField(where, "expected an object");
  std::string type;
  if (const Json* t = Find(j, "type")) {
    if (!t->is_string()) return BadField(Child(where, "type"), "expected a string");
    type = t->get<std::string>();
  } else if (const Json* v = Find(j, "vocab")) {
    if (v->is_array()) {
      type = "Unigram";
    } else if (j.contains("merges")) {
      type = "BPE";
    } else {
      type = "WordPiece";
    }
  } else {
    return BadField(Child(where, "type"), "missing");
  }
  if (type == "BPE") return CreateBpe(j, where);
  if (type == "WordPiece") return CreateWordPiece(j, where);
  if (type == "Unigram") return CreateUnigram(j, where);
  if (type == "WordLevel") return CreateWordLevel(j, where);
  return Unsupported(Child(where, "type"), fmt::format("unsupported model type \"{}\"", type));
}

namespace {

// WordLevel: each piece is one vocab entry, else unk_token.
class WordLevel : public Model {
 public:
  Status Init(const Json& j, const std::string& where) {
    LOOM_ASSIGN_OR_RETURN(const Json* vocab, GetObject(j, "vocab", where));
    LOOM_RETURN_IF_ERROR(ReadVocabObject(*vocab, Child(where, "vocab"), vocab_));
    LOOM_ASSIGN_OR_RETURN(std::string unk, GetString(j, "unk_token", where, ""));
    if (!unk.empty()) unk_ = vocab_.Find(unk);
    return Status::Ok();
  }
  void Tokenize(const std::vector<Piece>& pieces, std::vector<int32_t>& ids) const override {
    for (const Piece& p : pieces) {
      if (auto id = vocab_.Find(p.text)) {
        ids.push_back(*id);
      } else if (unk_) {
        ids.push_back(*unk_);
      }
    }
  }

 private:
  std::optional<int32_t> unk_;
};

}  // namespace

Result<std::unique_ptr<Model>> CreateWordLevel(const Json& j, const std::string& where) {
  auto m = std::make_unique<WordLevel>();
  LOOM_RETURN_IF_ERROR(m->Init(j, where));
  return std::unique_ptr<Model>(std::move(m));
}

}  // namespace loom::tok
