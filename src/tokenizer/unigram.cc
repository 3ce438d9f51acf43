// Unigram (SentencePiece unigram LM, as XLM-R / T5 use it): Viterbi over all vocab pieces that
// start at each character (found with a byte trie), maximizing the sum of piece log-probabilities
// (double, summed left to right). A position no single-character piece covers gets an unk node
// scored min(score) - 10. Ties keep the path whose last piece starts earliest. Consecutive unks are
// fused; with byte_fallback an unknown character becomes its <0xXX> byte tokens instead.
#include <fmt/format.h>

#include <limits>

#include "tokenizer/model.h"
#include "tokenizer/unicode.h"

namespace loom::tok {
namespace {

class Unigram : public Model {
 public:
  Status Init(const Json& j, const std::string& where);
  void Tokenize(const std::vector<Piece>& pieces, std::vector<int32_t>& ids) const override;

 private:
  void TokenizePiece(std::string_view text, std::vector<int32_t>& ids) const;
  int32_t Child(int32_t node, unsigned char byte) const {
    auto it = edges_.find((uint64_t(uint32_t(node)) << 8) | byte);
    return it == edges_.end() ? -1 : it->second;
  }

  std::vector<double> scores_;
  int32_t unk_ = 0;
  double unk_score_ = 0;
  bool byte_fallback_ = false;
  std::vector<int32_t> byte_token_ids_;
  // Byte trie: node 0 is the root; edges keyed by (node << 8 | byte); node_token_[node] = id or -1.
  std::unordered_map<uint64_t, int32_t> edges_;
  std::vector<int32_t> node_token_;
};

Status Unigram::Init(const Json& j, const std::string& where) {
  LOOM_ASSIGN_OR_RETURN(const Json* vocab, GetArray(j, "vocab", where));
  std::string wv = loom::tok::Child(where, "vocab");
  size_t n = vocab->size();
  if (n == 0) return BadField(wv, "is empty");
  vocab_.id_to_token.resize(n);
  scores_.resize(n);
  node_token_.push_back(-1);
  double min_score = std::numeric_limits<double>::infinity();
  for (size_t i = 0; i < n; ++i) {
    const Json& e = (*vocab)[i];
    if (!e.is_array() || e.size() != 2 || !e[0].is_string() || !e[1].is_number()) {
      return BadField(Index(wv, i), "expected [piece, score]");
    }
    std::string piece = e[0].get<std::string>();
    scores_[i] = e[1].get<double>();
    min_score = std::min(min_score, scores_[i]);
    vocab_.token_to_id.emplace(piece, static_cast<int32_t>(i));
    int32_t node = 0;
    for (unsigned char c : piece) {
      int32_t next = Child(node, c);
      if (next < 0) {
        next = static_cast<int32_t>(node_token_.size());
        node_token_.push_back(-1);
        edges_.emplace((uint64_t(uint32_t(node)) << 8) | c, next);
      }
      node = next;
    }
    if (node != 0 && node_token_[node] < 0) node_token_[node] = static_cast<int32_t>(i);
    vocab_.id_to_token[i] = std::move(piece);
  }
  LOOM_ASSIGN_OR_RETURN(int64_t unk, GetInt(j, "unk_id", where, 0));
  if (unk < 0 || static_cast<size_t>(unk) >= n)
    return BadField(loom::tok::Child(where, "unk_id"), "out of range");
  unk_ = static_cast<int32_t>(unk);
  unk_score_ = min_score - 10.0;
  scores_[unk_] = unk_score_;
  LOOM_ASSIGN_OR_RETURN(byte_fallback_, GetBool(j, "byte_fallback", where, false));
  byte_token_ids_.assign(256, -1);
  for (int b = 0; b < 256; ++b) {
    if (auto id = vocab_.Find(fmt::format("<0x{:02X}>", b))) byte_token_ids_[b] = *id;
  }
  return Status::Ok();
}

void Unigram::TokenizePiece(std::string_view text, std::vector<int32_t>& ids) const {
  size_t n = text.size();
  if (n == 0) return;
  // best[e]: best score of a path covering text[0, e); from[e]: start of its last piece; tok[e]:
  // its id.
  std::vector<double> best(n + 1, -std::numeric_limits<double>::infinity());
  std::vector<int32_t> from(n + 1, -1), tok(n + 1, -1);
  best[0] = 0;
  for (size_t b = 0; b < n;) {
    size_t char_end = b;
    NextCodePoint(text, char_end);
    bool has_single = false;
    int32_t node = 0;
    for (size_t e = b; e < n;) {
      node = Child(node, static_cast<unsigned char>(text[e]));
      if (node < 0) break;
      ++e;
      int32_t id = node_token_[node];
      if (id < 0) continue;
      // Trie keys are whole pieces, so a hit always ends on a character boundary.
      if (e == char_end) has_single = true;
      double s = best[b] + scores_[id];
      if (from[e] < 0 || s > best[e]) {
        best[e] = s;
        from[e] = static_cast<int32_t>(b);
        tok[e] = id;
      }
    }
    if (!has_single) {
      double s = best[b] + unk_score_;
      if (from[char_end] < 0 || s > best[char_end]) {
        best[char_end] = s;
        from[char_end] = static_cast<int32_t>(b);
        tok[char_end] = unk_;
      }
    }
    b = char_end;
  }
  std::vector<std::pair<size_t, int32_t>> path;  // (start byte, id), reversed
  for (size_t e = n; e > 0; e = static_cast<size_t>(from[e])) path.emplace_back(from[e], tok[e]);
  for (auto it = path.rbegin(); it != path.rend(); ++it) {
    if (it->second == unk_ && byte_fallback_) {
      size_t begin = it->first;
      size_t end = (it + 1 == path.rend()) ? n : (it + 1)->first;
      bool all = true;
      for (size_t k = begin; k < end; ++k)
        all &= byte_token_ids_[static_cast<unsigned char>(text[k])] >= 0;
      if (all) {
        for (size_t k = begin; k < end; ++k)
          ids.push_back(byte_token_ids_[static_cast<unsigned char>(text[k])]);
        continue;
      }
    }
    ids.push_back(it->second);
  }
}

void Unigram::Tokenize(const std::vector<Piece>& pieces, std::vector<int32_t>& ids) const {
  size_t start = ids.size();
  for (const Piece& p : pieces) TokenizePiece(p.text, ids);
  if (!byte_fallback_) FuseUnk(ids, start, unk_);
}

}  // namespace

Result<std::unique_ptr<Model>> CreateUnigram(const Json& j, const std::string& where) {
  auto m = std::make_unique<Unigram>();
  LOOM_RETURN_IF_ERROR(m->Init(j, where));
  return std::unique_ptr<Model>(std::move(m));
}

}  // namespace loom::tok
