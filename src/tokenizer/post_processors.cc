// Type-id conventions follow the Rust tokenizers crate. Sequences arrive with type id 0 (A) and 1
// (B). TemplateProcessing sets the template's type ids whether or not special tokens are added;
// BertProcessing keeps A=0 / B=1 (its specials take the type of their side); RobertaProcessing sets
// 0 everywhere (tokenizers.js gives B 1s there; not covered by the goldens); ByteLevel and no
// post-processor just concatenate (tokenizers.js drops B there).
#include "tokenizer/post_processors.h"

#include <fmt/format.h>

namespace loom::tok {
namespace {

void Append(Segment& dst, const std::vector<int32_t>& ids, int32_t type_id) {
  dst.ids.insert(dst.ids.end(), ids.begin(), ids.end());
  dst.type_ids.insert(dst.type_ids.end(), ids.size(), type_id);
}

class TemplateProcessor : public PostProcessor {
 public:
  struct Item {
    bool is_sequence;
    int sequence;                  // 0 = $A, 1 = $B
    std::vector<int32_t> special;  // ids of the special token
    int32_t type_id;
  };
  TemplateProcessor(std::vector<Item> single, std::vector<Item> pair)
      : single_(std::move(single)), pair_(std::move(pair)) {}

  void Process(std::vector<Segment>& segments, bool add_special_tokens) const override {
    const std::vector<Item>& items = segments.size() > 1 ? pair_ : single_;
    Segment out;
    for (const Item& it : items) {
      if (it.is_sequence) {
        if (static_cast<size_t>(it.sequence) < segments.size())
          Append(out, segments[it.sequence].ids, it.type_id);
      } else if (add_special_tokens) {
        Append(out, it.special, it.type_id);
      }
    }
    segments.assign(1, std::move(out));
  }

 private:
  std::vector<Item> single_, pair_;
};

class BertProcessor : public PostProcessor {
 public:
  BertProcessor(int32_t cls, int32_t sep, bool roberta) : cls_(cls), sep_(sep), roberta_(roberta) {}
  void Process(std::vector<Segment>& segments, bool add_special_tokens) const override {
    if (!add_special_tokens) {
      Segment out;
      for (const Segment& s : segments) {
        out.ids.insert(out.ids.end(), s.ids.begin(), s.ids.end());
        if (roberta_) {
          out.type_ids.insert(out.type_ids.end(), s.ids.size(), 0);
        } else {
          out.type_ids.insert(out.type_ids.end(), s.type_ids.begin(), s.type_ids.end());
        }
      }
      segments.assign(1, std::move(out));
      return;
    }
    Segment out;
    Append(out, {cls_}, 0);
    Append(out, segments[0].ids, 0);
    Append(out, {sep_}, 0);
    if (segments.size() > 1) {
      int32_t t = roberta_ ? 0 : 1;
      if (roberta_) Append(out, {sep_}, t);
      Append(out, segments[1].ids, t);
      Append(out, {sep_}, t);
    }
    segments.assign(1, std::move(out));
  }

 private:
  int32_t cls_, sep_;
  bool roberta_;
};

class NoopProcessor : public PostProcessor {
 public:
  void Process(std::vector<Segment>&, bool) const override {}
};

class SequenceProcessor : public PostProcessor {
 public:
  explicit SequenceProcessor(std::vector<std::unique_ptr<PostProcessor>> parts)
      : parts_(std::move(parts)) {}
  void Process(std::vector<Segment>& segments, bool add_special_tokens) const override {
    for (const auto& p : parts_) p->Process(segments, add_special_tokens);
  }

 private:
  std::vector<std::unique_ptr<PostProcessor>> parts_;
};

// Parses one template: the serialized list form [{"SpecialToken": {...}} | {"Sequence": {...}}] or
// the string form "[CLS]:0 $A:0 [SEP]:0".
Result<std::vector<TemplateProcessor::Item>> ParseTemplate(
    const Json& t, const std::string& where,
    const std::function<Result<std::vector<int32_t>>(const std::string&, const std::string&)>&
        special) {
  std::vector<TemplateProcessor::Item> items;
  auto sequence_item = [&](const std::string& id, int32_t type_id, const std::string& w) -> Status {
    if (id != "A" && id != "B")
      return BadField(w, fmt::format("unknown sequence id \"{}\" (expected A or B)", id));
    items.push_back({true, id == "B" ? 1 : 0, {}, type_id});
    return Status::Ok();
  };
  if (t.is_string()) {
    std::string s = t.get<std::string>();
    size_t i = 0;
    while (i < s.size()) {
      while (i < s.size() && s[i] == ' ') ++i;
      if (i >= s.size()) break;
      size_t e = s.find(' ', i);
      if (e == std::string::npos) e = s.size();
      std::string part = s.substr(i, e - i);
      i = e;
      int32_t type_id = 0;
      if (size_t colon = part.rfind(':');
          colon != std::string::npos && colon + 1 < part.size() &&
          part.find_first_not_of("0123456789", colon + 1) == std::string::npos &&
          part.size() - colon <= 7) {
        type_id = std::stoi(part.substr(colon + 1));
        part.resize(colon);
      }
      if (part.starts_with('$')) {
        std::string id = part.size() == 1 ? "A" : part.substr(1);
        LOOM_RETURN_IF_ERROR(sequence_item(id, type_id, where));
      } else {
        LOOM_ASSIGN_OR_RETURN(auto ids, special(part, where));
        items.push_back({false, 0, std::move(ids), type_id});
      }
    }
    return items;
  }
  if (!t.is_array()) return BadField(where, "expected a list of template pieces or a string");
  for (size_t k = 0; k < t.size(); ++k) {
    std::string w = Index(where, k);
    const Json& item = t[k];
    if (const Json* sp = Find(item, "SpecialToken")) {
      LOOM_ASSIGN_OR_RETURN(std::string id, GetString(*sp, "id", Child(w, "SpecialToken")));
      LOOM_ASSIGN_OR_RETURN(int64_t type_id, GetInt(*sp, "type_id", Child(w, "SpecialToken"), 0));
      LOOM_ASSIGN_OR_RETURN(auto ids, special(id, Child(w, "SpecialToken")));
      items.push_back({false, 0, std::move(ids), static_cast<int32_t>(type_id)});
    } else if (const Json* seq = Find(item, "Sequence")) {
      LOOM_ASSIGN_OR_RETURN(std::string id, GetString(*seq, "id", Child(w, "Sequence")));
      LOOM_ASSIGN_OR_RETURN(int64_t type_id, GetInt(*seq, "type_id", Child(w, "Sequence"), 0));
      LOOM_RETURN_IF_ERROR(sequence_item(id, static_cast<int32_t>(type_id), Child(w, "Sequence")));
    } else {
      return BadField(w, "expected {\"SpecialToken\": ...} or {\"Sequence\": ...}");
    }
  }
  return items;
}

Result<std::pair<std::string, int32_t>> ParseTokenPair(const Json& j, std::string_view key,
                                                       const std::string& where) {
  const Json* v = Find(j, key);
  std::string w = Child(where, key);
  if (v == nullptr || !v->is_array() || v->size() != 2 || !(*v)[0].is_string() ||
      !(*v)[1].is_number_integer() || (*v)[1].get<int64_t>() < 0 ||
      (*v)[1].get<int64_t>() >= kMaxTokenId) {
    return BadField(w, "expected [token, id] with a valid id");
  }
  return std::make_pair((*v)[0].get<std::string>(), (*v)[1].get<int32_t>());
}

}  // namespace

Result<std::unique_ptr<PostProcessor>> CreatePostProcessor(const Json& j, const std::string& where,
                                                           const TokenResolver& resolve) {
  if (j.is_null()) return std::unique_ptr<PostProcessor>();
  LOOM_ASSIGN_OR_RETURN(std::string type, GetType(j, where));
  if (type == "TemplateProcessing") {
    const Json* specials = Find(j, "special_tokens");
    auto special = [&](const std::string& token,
                       const std::string& w) -> Result<std::vector<int32_t>> {
      if (specials != nullptr) {
        if (const Json* entry = Find(*specials, token)) {
          const Json* ids = Find(*entry, "ids");
          if (ids == nullptr || !ids->is_array()) {
            return BadField(Child(Child(where, "special_tokens"), token),
                            "expected \"ids\": [...]");
          }
          std::vector<int32_t> out;
          for (const Json& id : *ids) {
            if (!id.is_number_integer() || id.get<int64_t>() < 0 ||
                id.get<int64_t>() >= kMaxTokenId)
              return BadField(Child(Child(where, "special_tokens"), token), "ids must be integers");
            out.push_back(id.get<int32_t>());
          }
          return out;
        }
      }
      if (auto id = resolve(token)) return std::vector<int32_t>{*id};
      return BadField(
          w, fmt::format("special token \"{}\" is neither in special_tokens nor in the vocabulary",
                         token));
    };
    LOOM_ASSIGN_OR_RETURN(const Json* single_j, GetObject(j, "single", where).ok()
                                                    ? GetObject(j, "single", where)
                                                    : GetArray(j, "single", where));
    LOOM_ASSIGN_OR_RETURN(auto single, ParseTemplate(*single_j, Child(where, "single"), special));
    std::vector<TemplateProcessor::Item> pair;
    if (const Json* pair_j = Find(j, "pair")) {
      LOOM_ASSIGN_OR_RETURN(pair, ParseTemplate(*pair_j, Child(where, "pair"), special));
    } else {
      pair = single;
    }
    return std::unique_ptr<PostProcessor>(
        new TemplateProcessor(std::move(single), std::move(pair)));
  }
  if (type == "BertProcessing" || type == "RobertaProcessing") {
    LOOM_ASSIGN_OR_RETURN(auto sep, ParseTokenPair(j, "sep", where));
    LOOM_ASSIGN_OR_RETURN(auto cls, ParseTokenPair(j, "cls", where));
    return std::unique_ptr<PostProcessor>(
        new BertProcessor(cls.second, sep.second, type == "RobertaProcessing"));
  }
  if (type == "ByteLevel") return std::unique_ptr<PostProcessor>(new NoopProcessor());
  if (type == "Sequence") {
    LOOM_ASSIGN_OR_RETURN(const Json* list, GetArray(j, "processors", where));
    std::vector<std::unique_ptr<PostProcessor>> parts;
    for (size_t i = 0; i < list->size(); ++i) {
      LOOM_ASSIGN_OR_RETURN(
          auto part,
          CreatePostProcessor((*list)[i], Index(Child(where, "processors"), i), resolve));
      if (part) parts.push_back(std::move(part));
    }
    return std::unique_ptr<PostProcessor>(new SequenceProcessor(std::move(parts)));
  }
  return Unsupported(Child(where, "type"),
                     fmt::format("unsupported post_processor type \"{}\"", type));
}

std::unique_ptr<PostProcessor> MakeBosEosTemplate(std::optional<int32_t> bos,
                                                  std::optional<int32_t> eos) {
  using Item = TemplateProcessor::Item;
  std::vector<Item> single, pair;
  if (bos) single.push_back({false, 0, {*bos}, 0});
  single.push_back({true, 0, {}, 0});
  if (eos) single.push_back({false, 0, {*eos}, 0});
  pair = single;
  if (bos) pair.push_back({false, 0, {*bos}, 1});
  pair.push_back({true, 1, {}, 1});
  if (eos) pair.push_back({false, 0, {*eos}, 1});
  return std::make_unique<TemplateProcessor>(std::move(single), std::move(pair));
}

}  // namespace loom::tok
