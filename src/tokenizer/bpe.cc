// Byte-pair encoding (GPT-2/Llama-3/Qwen byte-level and SentencePiece-style with byte_fallback).
//
// A piece is split into its characters (ids looked up in the vocab; unknown chars keep id -1 and
// never merge), then the adjacent pair with the lowest merge rank is merged repeatedly, leftmost
// first on ties (the order both the Rust crate and tokenizers.js produce). Unknown symbols become
// <0xXX> byte tokens with byte_fallback, else unk_token (fused per section with fuse_unk), else
// nothing. Speed: merges live in an open-addressing table keyed by the (left id, right id) pair;
// results per piece are cached; ignore_merges pieces found whole in the vocab skip BPE.
#include <fmt/format.h>

#include <mutex>
#include <queue>

#include "tokenizer/model.h"
#include "tokenizer/unicode.h"

namespace loom::tok {
namespace {

// (left id, right id) -> (rank, merged id), open addressing with linear probing.
class MergeTable {
 public:
  void Reserve(size_t n) {
    size_t cap = 16;
    while (cap < n * 2) cap <<= 1;
    keys_.assign(cap, kEmpty);
    values_.assign(cap, 0);
    mask_ = cap - 1;
  }
  // Returns false when the pair is already present (the first, lowest rank wins).
  bool Insert(int32_t a, int32_t b, uint32_t rank, int32_t merged) {
    uint64_t key = Key(a, b);
    for (size_t i = Hash(key) & mask_;; i = (i + 1) & mask_) {
      if (keys_[i] == key) return false;
      if (keys_[i] == kEmpty) {
        keys_[i] = key;
        values_[i] = (uint64_t(rank) << 32) | uint32_t(merged);
        return true;
      }
    }
  }
  // True and fills rank/merged when the pair has a merge.
  bool Find(int32_t a, int32_t b, uint32_t& rank, int32_t& merged) const {
    uint64_t key = Key(a, b);
    for (size_t i = Hash(key) & mask_;; i = (i + 1) & mask_) {
      if (keys_[i] == key) {
        rank = static_cast<uint32_t>(values_[i] >> 32);
        merged = static_cast<int32_t>(values_[i] & 0xFFFFFFFFu);
        return true;
      }
      if (keys_[i] == kEmpty) return false;
    }
  }

 private:
  static constexpr uint64_t kEmpty = ~uint64_t{0};
  static uint64_t Key(int32_t a, int32_t b) { return (uint64_t(uint32_t(a)) << 32) | uint32_t(b); }
  static size_t Hash(uint64_t k) {
    k ^= k >> 33;
    k *= 0xff51afd7ed558ccdULL;
    k ^= k >> 33;
    return static_cast<size_t>(k);
  }
  std::vector<uint64_t> keys_;
  std::vector<uint64_t> values_;
  size_t mask_ = 0;
};

class Bpe : public Model {
 public:
  Status Init(const Json& j, const std::string& where);
  void Tokenize(const std::vector<Piece>& pieces, std::vector<int32_t>& ids) const override;
  std::string_view end_of_word_suffix() const override { return end_of_word_suffix_; }

 private:
  struct Symbol {
    int32_t id;
    int32_t prev, next;
    uint32_t begin, len;  // bytes of the piece this symbol covers (len 0: merged away)
  };
  void TokenizePiece(std::string_view piece, std::vector<int32_t>& ids) const;
  void RunBpe(std::string_view piece, std::vector<int32_t>& ids) const;
  int32_t SymbolId(std::string_view text, bool first, bool last) const;

  MergeTable merges_;
  std::optional<int32_t> unk_;
  bool byte_fallback_ = false, fuse_unk_ = false, ignore_merges_ = false;
  std::string continuing_subword_prefix_, end_of_word_suffix_;
  std::vector<int32_t> byte_token_ids_;  // <0xXX> ids, -1 when missing
  std::vector<int32_t> char_ids_;  // id of each code point < 0x800 alone, -1 when not in vocab

  static constexpr size_t kCacheCapacity = 1 << 16;
  static constexpr size_t kMaxCachedPiece = 256;
  mutable std::mutex cache_mu_;
  mutable std::unordered_map<std::string, std::vector<int32_t>, StringHash, std::equal_to<>> cache_;
};

Status Bpe::Init(const Json& j, const std::string& where) {
  LOOM_ASSIGN_OR_RETURN(const Json* vocab, GetObject(j, "vocab", where));
  LOOM_RETURN_IF_ERROR(ReadVocabObject(*vocab, Child(where, "vocab"), vocab_));
  LOOM_ASSIGN_OR_RETURN(std::string unk, GetString(j, "unk_token", where, ""));
  if (!unk.empty()) {
    unk_ = vocab_.Find(unk);
    if (!unk_)
      return BadField(Child(where, "unk_token"), fmt::format("\"{}\" is not in model.vocab", unk));
  }
  LOOM_ASSIGN_OR_RETURN(byte_fallback_, GetBool(j, "byte_fallback", where, false));
  LOOM_ASSIGN_OR_RETURN(fuse_unk_, GetBool(j, "fuse_unk", where, false));
  LOOM_ASSIGN_OR_RETURN(ignore_merges_, GetBool(j, "ignore_merges", where, false));
  LOOM_ASSIGN_OR_RETURN(continuing_subword_prefix_,
                        GetString(j, "continuing_subword_prefix", where, ""));
  LOOM_ASSIGN_OR_RETURN(end_of_word_suffix_, GetString(j, "end_of_word_suffix", where, ""));
  if (const Json* dropout = Find(j, "dropout");
      dropout && dropout->is_number() && dropout->get<double>() > 0) {
    return Unsupported(Child(where, "dropout"), "BPE dropout is not supported for inference");
  }

  LOOM_ASSIGN_OR_RETURN(const Json* merges, GetArray(j, "merges", where));
  std::string wm = Child(where, "merges");
  merges_.Reserve(merges->size());
  std::string merged_text;
  for (size_t r = 0; r < merges->size(); ++r) {
    const Json& m = (*merges)[r];
    std::string_view a, b;
    std::string joined;
    if (m.is_string()) {  // "a b"
      const std::string& s = m.get_ref<const std::string&>();
      size_t sp = s.find(' ');
      if (sp == std::string::npos || s.find(' ', sp + 1) != std::string::npos) {
        return BadField(Index(wm, r), fmt::format("expected \"left right\", got {:?}", s));
      }
      a = std::string_view(s).substr(0, sp);
      b = std::string_view(s).substr(sp + 1);
    } else if (m.is_array() && m.size() == 2 && m[0].is_string() &&
               m[1].is_string()) {  // ["a", "b"]
      a = m[0].get_ref<const std::string&>();
      b = m[1].get_ref<const std::string&>();
    } else {
      return BadField(Index(wm, r), "expected \"left right\" or [\"left\", \"right\"]");
    }
    auto ia = vocab_.Find(a), ib = vocab_.Find(b);
    if (!ia || !ib)
      return BadField(Index(wm, r), fmt::format("token {:?} is not in model.vocab", !ia ? a : b));
    merged_text.assign(a);
    merged_text.append(b);
    auto im = vocab_.Find(merged_text);
    if (!im)
      return BadField(Index(wm, r),
                      fmt::format("merged token {:?} is not in model.vocab", merged_text));
    merges_.Insert(*ia, *ib, static_cast<uint32_t>(r), *im);
  }

  byte_token_ids_.assign(256, -1);
  for (int b = 0; b < 256; ++b) {
    if (auto id = vocab_.Find(fmt::format("<0x{:02X}>", b))) byte_token_ids_[b] = *id;
  }
  char_ids_.assign(0x800, -1);
  std::string ch;
  for (char32_t cp = 0; cp < 0x800; ++cp) {
    ch.clear();
    AppendUtf8(ch, cp);
    if (auto id = vocab_.Find(ch)) char_ids_[cp] = *id;
  }
  return Status::Ok();
}

int32_t Bpe::SymbolId(std::string_view text, bool first, bool last) const {
  if ((first || continuing_subword_prefix_.empty()) && (!last || end_of_word_suffix_.empty())) {
    if (text.size() <= 2) {
      size_t k = 0;
      char32_t cp = NextCodePoint(text, k);
      if (cp < 0x800) return char_ids_[cp];
    }
    auto id = vocab_.Find(text);
    return id ? *id : -1;
  }
  std::string s;
  if (!first) s += continuing_subword_prefix_;
  s.append(text);
  if (last) s += end_of_word_suffix_;
  auto id = vocab_.Find(s);
  return id ? *id : -1;
}

void Bpe::RunBpe(std::string_view piece, std::vector<int32_t>& ids) const {
  std::vector<Symbol> syms;
  syms.reserve(piece.size());
  for (size_t i = 0; i < piece.size();) {
    size_t b = i;
    NextCodePoint(piece, i);
    int32_t n = static_cast<int32_t>(syms.size());
    syms.push_back({SymbolId(piece.substr(b, i - b), b == 0, i == piece.size()), n - 1, n + 1,
                    static_cast<uint32_t>(b), static_cast<uint32_t>(i - b)});
  }
  if (syms.empty()) return;
  syms.back().next = -1;

  // Min-heap on (rank, left position): lowest rank first, leftmost among equal ranks.
  struct Candidate {
    uint32_t rank;
    int32_t pos;
    int32_t merged;
    bool operator>(const Candidate& o) const {
      return rank != o.rank ? rank > o.rank : pos > o.pos;
    }
  };
  std::priority_queue<Candidate, std::vector<Candidate>, std::greater<>> heap;
  auto push_pair = [&](int32_t left) {
    int32_t right = syms[left].next;
    if (right < 0 || syms[left].id < 0 || syms[right].id < 0) return;
    uint32_t rank;
    int32_t merged;
    if (merges_.Find(syms[left].id, syms[right].id, rank, merged)) heap.push({rank, left, merged});
  };
  for (int32_t i = 0; i + 1 < static_cast<int32_t>(syms.size()); ++i) push_pair(i);
  while (!heap.empty()) {
    Candidate c = heap.top();
    heap.pop();
    Symbol& left = syms[c.pos];
    if (left.len == 0 || left.next < 0) continue;
    Symbol& right = syms[left.next];
    uint32_t rank;
    int32_t merged;
    if (left.id < 0 || right.id < 0 || !merges_.Find(left.id, right.id, rank, merged) ||
        rank != c.rank)
      continue;
    left.id = merged;
    left.len += right.len;
    right.len = 0;
    left.next = right.next;
    if (left.next >= 0) syms[left.next].prev = c.pos;
    if (left.prev >= 0) push_pair(left.prev);
    push_pair(c.pos);
  }
  for (int32_t i = 0; i >= 0; i = syms[i].next) {
    const Symbol& s = syms[i];
    if (s.id >= 0) {
      ids.push_back(s.id);
      continue;
    }
    if (byte_fallback_) {
      bool all = true;
      for (size_t k = 0; k < s.len; ++k)
        all &= byte_token_ids_[static_cast<unsigned char>(piece[s.begin + k])] >= 0;
      if (all) {
        for (size_t k = 0; k < s.len; ++k)
          ids.push_back(byte_token_ids_[static_cast<unsigned char>(piece[s.begin + k])]);
        continue;
      }
    }
    if (unk_) ids.push_back(*unk_);
  }
}

void Bpe::TokenizePiece(std::string_view piece, std::vector<int32_t>& ids) const {
  if (piece.empty()) return;
  if (ignore_merges_) {
    if (auto id = vocab_.Find(piece)) {
      ids.push_back(*id);
      return;
    }
  }
  bool cacheable = piece.size() <= kMaxCachedPiece;
  if (cacheable) {
    std::lock_guard<std::mutex> lock(cache_mu_);
    auto it = cache_.find(piece);
    if (it != cache_.end()) {
      ids.insert(ids.end(), it->second.begin(), it->second.end());
      return;
    }
  }
  size_t start = ids.size();
  RunBpe(piece, ids);
  if (cacheable) {
    std::lock_guard<std::mutex> lock(cache_mu_);
    if (cache_.size() >= kCacheCapacity) cache_.clear();
    cache_.emplace(std::string(piece), std::vector<int32_t>(ids.begin() + start, ids.end()));
  }
}

void Bpe::Tokenize(const std::vector<Piece>& pieces, std::vector<int32_t>& ids) const {
  size_t start = ids.size();
  for (const Piece& p : pieces) TokenizePiece(p.text, ids);
  if (fuse_unk_ && unk_) FuseUnk(ids, start, *unk_);
}

}  // namespace

Result<std::unique_ptr<Model>> CreateBpe(const Json& j, const std::string& where) {
  auto m = std::make_unique<Bpe>();
  LOOM_RETURN_IF_ERROR(m->Init(j, where));
  return std::unique_ptr<Model>(std::move(m));
}

}  // namespace loom::tok
