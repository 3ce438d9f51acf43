#include "tokenizer/tokenizer.h"

#include <fmt/format.h>

#include <fstream>
#include <sstream>
#include <unordered_set>

#include "tokenizer/json_util.h"
#include "tokenizer/tokenizer_impl.h"
#include "tokenizer/unicode.h"

namespace loom {
namespace {

constexpr std::string_view kFile = "tokenizer.json";

// Classes whose fast tokenizer rebuilds the post-processor from add_bos_token / add_eos_token.
bool IsLlamaStyleClass(const std::optional<std::string>& cls) {
  static const std::unordered_set<std::string> kClasses = {
      "LlamaTokenizer",         "LlamaTokenizerFast", "CodeLlamaTokenizer",
      "CodeLlamaTokenizerFast", "GemmaTokenizer",     "GemmaTokenizerFast"};
  return cls && kClasses.count(*cls) > 0;
}

Result<std::string> ReadFile(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return NotFound("cannot open {}", path.string());
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

Status ReadAddedTokens(const tok::Json& root, tok::AddedVocabulary& added) {
  const tok::Json* list = tok::Find(root, "added_tokens");
  if (list == nullptr) return Status::Ok();
  std::string where = tok::Child(kFile, "added_tokens");
  if (!list->is_array()) return tok::BadField(where, "expected a list");
  for (size_t i = 0; i < list->size(); ++i) {
    std::string w = tok::Index(where, i);
    const tok::Json& e = (*list)[i];
    if (!e.is_object()) return tok::BadField(w, "expected an object");
    tok::AddedToken t;
    LOOM_ASSIGN_OR_RETURN(t.content, tok::GetString(e, "content", w));
    if (t.content.empty()) return tok::BadField(tok::Child(w, "content"), "must not be empty");
    if (!tok::IsValidUtf8(t.content))
      return tok::BadField(tok::Child(w, "content"), "is not valid UTF-8");
    LOOM_ASSIGN_OR_RETURN(int64_t id, tok::GetInt(e, "id", w));
    if (id < 0 || id >= tok::kMaxTokenId) {
      return tok::BadField(tok::Child(w, "id"),
                           fmt::format("id {} out of range [0, {})", id, tok::kMaxTokenId));
    }
    t.id = static_cast<int32_t>(id);
    LOOM_ASSIGN_OR_RETURN(t.single_word, tok::GetBool(e, "single_word", w, false));
    LOOM_ASSIGN_OR_RETURN(t.lstrip, tok::GetBool(e, "lstrip", w, false));
    LOOM_ASSIGN_OR_RETURN(t.rstrip, tok::GetBool(e, "rstrip", w, false));
    LOOM_ASSIGN_OR_RETURN(t.special, tok::GetBool(e, "special", w, false));
    LOOM_ASSIGN_OR_RETURN(t.normalized, tok::GetBool(e, "normalized", w, !t.special));
    added.Add(std::move(t));
  }
  return Status::Ok();
}

Result<std::shared_ptr<TokenizerImpl>> Build(const std::string& tokenizer_json,
                                             const std::string& config_json) {
  auto impl = std::make_shared<TokenizerImpl>();
  LOOM_ASSIGN_OR_RETURN(impl->config, TokenizerConfig::FromJson(config_json));
  tok::Json root = tok::Json::parse(tokenizer_json, nullptr, /*allow_exceptions=*/false);
  if (root.is_discarded()) return DataLoss("{}: not valid JSON", kFile);
  if (!root.is_object()) return DataLoss("{}: expected a JSON object at the top level", kFile);

  LOOM_ASSIGN_OR_RETURN(const tok::Json* model_j, tok::GetObject(root, "model", kFile));
  LOOM_ASSIGN_OR_RETURN(impl->model, tok::CreateModel(*model_j, tok::Child(kFile, "model")));
  static const tok::Json kNull;
  auto member = [&](std::string_view key) -> const tok::Json& {
    const tok::Json* v = tok::Find(root, key);
    return v ? *v : kNull;
  };
  LOOM_ASSIGN_OR_RETURN(impl->normalizer, tok::CreateNormalizer(member("normalizer"),
                                                                tok::Child(kFile, "normalizer")));
  LOOM_ASSIGN_OR_RETURN(
      impl->pre_tokenizer,
      tok::CreatePreTokenizer(member("pre_tokenizer"), tok::Child(kFile, "pre_tokenizer")));
  LOOM_RETURN_IF_ERROR(ReadAddedTokens(root, impl->added));

  // transformers registers config special tokens that tokenizer.json lacks as special added tokens.
  const TokenizerConfig& cfg = impl->config;
  std::vector<std::string> config_specials = cfg.additional_special_tokens;
  for (const auto* t : {&cfg.bos_token, &cfg.eos_token, &cfg.unk_token, &cfg.pad_token,
                        &cfg.cls_token, &cfg.sep_token, &cfg.mask_token}) {
    if (*t) config_specials.push_back(**t);
  }
  for (const std::string& s : config_specials) {
    bool present = false;
    for (const auto& t : impl->added.tokens()) present |= t.content == s;
    if (present) continue;
    if (auto id = impl->model->vocab().Find(s)) {
      impl->added.Add({s, *id, false, false, false, /*normalized=*/false, /*special=*/true});
    }
  }
  const tok::Normalizer* normalizer = impl->normalizer.get();
  impl->added.Finalize([normalizer](const std::string& content) {
    std::string s = content;
    if (normalizer) normalizer->Normalize(s);
    return s;
  });

  int32_t size = static_cast<int32_t>(impl->model->vocab().id_to_token.size());
  for (const auto& t : impl->added.tokens()) size = std::max(size, t.id + 1);
  impl->vocab_size = size;
  impl->is_special.assign(static_cast<size_t>(size), 0);
  for (const auto& t : impl->added.tokens()) {
    if (t.special) impl->is_special[t.id] = 1;
  }
  for (const std::string& s : cfg.additional_special_tokens) {
    if (auto id = impl->Resolve(s)) impl->is_special[*id] = 1;
  }

  TokenizerImpl* raw = impl.get();
  tok::TokenResolver resolve = [raw](std::string_view t) { return raw->Resolve(t); };
  if (IsLlamaStyleClass(cfg.tokenizer_class)) {
    // LlamaTokenizerFast.update_post_processor(): the config's add_bos/eos flags win over
    // tokenizer.json.
    bool add_bos = cfg.add_bos_token.value_or(true), add_eos = cfg.add_eos_token.value_or(false);
    std::optional<int32_t> bos, eos;
    if (add_bos) {
      if (!cfg.bos_token)
        return DataLoss("tokenizer_config.json: add_bos_token is true but bos_token is null");
      bos = impl->Resolve(*cfg.bos_token);
      if (!bos)
        return DataLoss("tokenizer_config.json: bos_token \"{}\" is not in the vocabulary",
                        *cfg.bos_token);
    }
    if (add_eos) {
      if (!cfg.eos_token)
        return DataLoss("tokenizer_config.json: add_eos_token is true but eos_token is null");
      eos = impl->Resolve(*cfg.eos_token);
      if (!eos)
        return DataLoss("tokenizer_config.json: eos_token \"{}\" is not in the vocabulary",
                        *cfg.eos_token);
    }
    impl->post_processor = tok::MakeBosEosTemplate(bos, eos);
  } else {
    LOOM_ASSIGN_OR_RETURN(impl->post_processor,
                          tok::CreatePostProcessor(member("post_processor"),
                                                   tok::Child(kFile, "post_processor"), resolve));
  }

  auto contents = std::make_shared<tok::AddedContents>();
  for (const auto& t : impl->added.tokens()) contents->insert(t.content);
  LOOM_ASSIGN_OR_RETURN(
      impl->decoder, tok::CreateDecoder(member("decoder"), tok::Child(kFile, "decoder"), contents));
  impl->tail_depends_on_next_token = (impl->decoder && impl->decoder->TailDependsOnNextToken()) ||
                                     !impl->model->end_of_word_suffix().empty();
  return impl;
}

}  // namespace

std::optional<int32_t> TokenizerImpl::Resolve(std::string_view token) const {
  int32_t t = added.FindContent(token);
  if (t >= 0 && added.tokens()[t].content == token) return added.tokens()[t].id;
  return model->vocab().Find(token);
}

const std::string* TokenizerImpl::TokenString(int32_t id) const {
  if (const tok::AddedToken* t = added.FindId(id)) return &t->content;
  const auto& v = model->vocab().id_to_token;
  if (id >= 0 && static_cast<size_t>(id) < v.size() && !v[id].empty()) return &v[id];
  return nullptr;
}

void TokenizerImpl::EncodeSequence(std::string_view text, std::vector<int32_t>& ids) const {
  std::vector<tok::Section> sections, subsections;
  std::vector<tok::Piece> pieces;
  added.raw_matcher().Split(text, added.tokens(), sections);
  tok::ApplyStrips(sections, added);
  for (size_t i = 0; i < sections.size(); ++i) {
    std::string_view section = sections[i].text;
    if (section.empty()) continue;
    if (int32_t t = added.FindContent(section); t >= 0) {
      ids.push_back(added.tokens()[t].id);
      continue;
    }
    std::string normalized(section);
    if (normalizer) normalizer->Normalize(normalized);
    if (normalized.empty()) continue;
    added.normalized_matcher().Split(normalized, added.tokens(), subsections);
    tok::ApplyStrips(subsections, added);
    for (size_t j = 0; j < subsections.size(); ++j) {
      std::string_view sub = subsections[j].text;
      if (sub.empty()) continue;
      if (int32_t t = added.FindContent(sub); t >= 0) {
        ids.push_back(added.tokens()[t].id);
        continue;
      }
      pieces.clear();
      pieces.push_back({std::string(sub), i == 0 && j == 0});
      if (pre_tokenizer) pre_tokenizer->PreTokenize(pieces);
      model->Tokenize(pieces, ids);
    }
  }
}

std::string TokenizerImpl::DecodeIds(std::span<const int32_t> ids, bool skip_special_tokens,
                                     bool clean_up) const {
  std::vector<std::string> tokens;
  tokens.reserve(ids.size());
  for (int32_t id : ids) {
    if (id < 0 || id >= vocab_size) continue;
    if (skip_special_tokens && is_special[id]) continue;
    if (const std::string* s = TokenString(id)) tokens.push_back(*s);
  }
  std::string text;
  if (decoder) {
    decoder->DecodeChain(tokens);
    for (const std::string& t : tokens) text += t;
  } else {
    for (size_t i = 0; i < tokens.size(); ++i) {
      if (i) text += ' ';
      text += tokens[i];
    }
  }
  std::string_view eow = model->end_of_word_suffix();
  if (decoder && !eow.empty()) {  // tokenizers.js turns a leftover end-of-word suffix into spaces
    std::string out;
    for (size_t pos = 0;;) {
      size_t hit = text.find(eow, pos);
      out.append(text, pos, hit == std::string::npos ? std::string::npos : hit - pos);
      if (hit == std::string::npos) break;
      out += ' ';
      pos = hit + eow.size();
    }
    text = skip_special_tokens ? std::string(tok::JsTrim(out, true, true)) : std::move(out);
  }
  if (clean_up && config.clean_up_tokenization_spaces) text = tok::CleanUpTokenization(text);
  return text;
}

Result<Tokenizer> Tokenizer::FromJson(const std::string& tokenizer_json,
                                      const std::string& tokenizer_config_json) {
  try {
    LOOM_ASSIGN_OR_RETURN(auto impl, Build(tokenizer_json, tokenizer_config_json));
    return Tokenizer(std::move(impl));
  } catch (const std::exception& e) {  // nlohmann type errors in corners the typed accessors missed
    return DataLoss("tokenizer.json/tokenizer_config.json: {}", e.what());
  }
}

Result<Tokenizer> Tokenizer::FromDir(const std::filesystem::path& dir) {
  std::filesystem::path tj = dir / "tokenizer.json", tc = dir / "tokenizer_config.json";
  if (!std::filesystem::exists(tj)) return NotFound("{} not found", tj.string());
  LOOM_ASSIGN_OR_RETURN(std::string tokenizer_json, ReadFile(tj));
  std::string config_json;
  if (std::filesystem::exists(tc)) {
    LOOM_ASSIGN_OR_RETURN(config_json, ReadFile(tc));
  }
  return FromJson(tokenizer_json, config_json);
}

Result<Encoding> Tokenizer::Encode(std::string_view text, std::optional<std::string_view> pair,
                                   bool add_special_tokens) const {
  if (!tok::IsValidUtf8(text)) return InvalidArgument("Encode: text is not valid UTF-8");
  if (pair && !tok::IsValidUtf8(*pair))
    return InvalidArgument("Encode: pair text is not valid UTF-8");
  std::vector<tok::Segment> segments(pair ? 2 : 1);
  impl_->EncodeSequence(text, segments[0].ids);
  segments[0].type_ids.assign(segments[0].ids.size(), 0);
  if (pair) {
    impl_->EncodeSequence(*pair, segments[1].ids);
    segments[1].type_ids.assign(segments[1].ids.size(), 1);
  }
  if (impl_->post_processor) impl_->post_processor->Process(segments, add_special_tokens);
  Encoding out;
  for (auto& s : segments) {
    out.ids.insert(out.ids.end(), s.ids.begin(), s.ids.end());
    out.type_ids.insert(out.type_ids.end(), s.type_ids.begin(), s.type_ids.end());
  }
  return out;
}

std::string Tokenizer::Decode(std::span<const int32_t> ids, bool skip_special_tokens, bool) const {
  return impl_->DecodeIds(ids, skip_special_tokens);
}

int32_t Tokenizer::VocabSize() const { return impl_->vocab_size; }

std::optional<int32_t> Tokenizer::TokenToId(std::string_view token) const {
  return impl_->Resolve(token);
}

std::optional<std::string> Tokenizer::IdToToken(int32_t id) const {
  if (const std::string* s = impl_->TokenString(id)) return *s;
  return std::nullopt;
}

bool Tokenizer::IsSpecial(int32_t id) const {
  return id >= 0 && id < impl_->vocab_size && impl_->is_special[id];
}

std::vector<int32_t> Tokenizer::SpecialIds() const {
  std::vector<int32_t> out;
  for (int32_t i = 0; i < impl_->vocab_size; ++i) {
    if (impl_->is_special[i]) out.push_back(i);
  }
  return out;
}

std::optional<int32_t> Tokenizer::BosTokenId() const {
  return impl_->config.bos_token ? impl_->Resolve(*impl_->config.bos_token) : std::nullopt;
}

std::optional<int32_t> Tokenizer::EosTokenId() const {
  return impl_->config.eos_token ? impl_->Resolve(*impl_->config.eos_token) : std::nullopt;
}

const TokenizerConfig& Tokenizer::config() const { return impl_->config; }

}  // namespace loom
