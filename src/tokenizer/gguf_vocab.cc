#include "tokenizer/gguf_vocab.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>

#include "tokenizer/gguf_pre_tokenizers.h"
#include "tokenizer/unicode.h"

namespace loom {
namespace {

using nlohmann::ordered_json;

// llama.cpp's token types (tokenizer.ggml.token_type).
enum TokenType : int32_t {
  kUndefined = 0,
  kNormal = 1,
  kUnknown = 2,
  kControl = 3,
  kUserDefined = 4,
  kUnused = 5,
  kByte = 6,
};

constexpr std::string_view kSpace = "\xE2\x96\x81";  // U+2581, SentencePiece's space

// Texts llama.cpp treats as end-of-generation and forces to CONTROL (llama_vocab::impl::load).
// clang-format off
constexpr std::string_view kEogTexts[] = {
    "<|eot_id|>", "<|im_end|>", "<|end|>", "<|return|>", "<|call|>", "<|flush|>", "<|calls|>",
    "<end_of_turn>", "<|endoftext|>", "</s>", "<|eom_id|>", "<EOT>", "_<EOT>", "[EOT]", "[EOS]",
    "<|end_of_text|>", "<end_of_utterance>", "<eos>", "<turn|>", "<|tool_response>",
    "<｜end▁of▁sentence｜>", "[e~["};
// clang-format on

// Fill-in-the-middle token texts per role; when the file has no id for a role, llama.cpp takes a
// token with one of these texts for it and forces it to CONTROL. pad, rep and sep end generation.
struct FimRole {
  const char* key;
  std::vector<std::string_view> texts;
  bool eog;
};
const std::vector<FimRole>& FimRoles() {
  static const std::vector<FimRole> k = {
      {"tokenizer.ggml.fim_pre_token_id",
       {"<|fim_prefix|>", "<fim-prefix>", "<fim_prefix>", "<｜fim▁begin｜>", "<PRE>", "▁<PRE>",
        "<|code_prefix|>", "<|prefix|>"},
       false},
      {"tokenizer.ggml.fim_suf_token_id",
       {"<|fim_suffix|>", "<fim-suffix>", "<fim_suffix>", "<｜fim▁hole｜>", "<SUF>", "▁<SUF>",
        "<|code_suffix|>", "<|suffix|>"},
       false},
      {"tokenizer.ggml.fim_mid_token_id",
       {"<|fim_middle|>", "<fim-middle>", "<fim_middle>", "<｜fim▁end｜>", "<MID>", "▁<MID>",
        "<|code_middle|>", "<|middle|>"},
       false},
      {"tokenizer.ggml.fim_pad_token_id",
       {"<|fim_pad|>", "<fim-pad>", "<fim_pad>", "<PAD>", "[PAD]"},
       true},
      {"tokenizer.ggml.fim_rep_token_id",
       {"<|fim_repo|>", "<|repo_name|>", "<fim-repo>", "<REPO>", "<reponame>"},
       true},
      {"tokenizer.ggml.fim_sep_token_id", {"<|file_sep|>"}, true},
  };
  return k;
}

// The vocabulary as llama.cpp loads it. Move-only: `ids` views the strings in `tokens`.
struct Vocab {
  Vocab() = default;
  Vocab(Vocab&&) = default;
  Vocab(const Vocab&) = delete;

  std::string model, pre;
  std::vector<std::string> tokens;
  std::vector<float> scores;   // 0 when the file has none
  std::vector<int32_t> types;  // after llama.cpp's text-based overrides
  std::vector<bool> rstrip;    // phi-3: whitespace after the special token is dropped
  std::unordered_map<std::string_view, int32_t> ids;  // views into `tokens`
  std::optional<int32_t> bos, eos, unk, pad, eot, eom;
  std::vector<int32_t> eog;
  bool add_bos = false, add_eos = false, add_space_prefix = false, clean_spaces = false;
  std::optional<tok::GgufBpePre> bpe_pre;
};

std::string Key(std::string_view suffix) { return fmt::format("tokenizer.{}", suffix); }

const ordered_json* Find(const ordered_json& m, const std::string& key) {
  auto it = m.find(key);
  return it == m.end() ? nullptr : &*it;
}

Result<std::optional<std::string>> OptString(const ordered_json& m, const std::string& key) {
  const ordered_json* v = Find(m, key);
  if (v == nullptr) return std::optional<std::string>();
  if (!v->is_string()) return DataLoss("GGUF metadata {}: expected a string", key);
  return std::optional<std::string>(v->get<std::string>());
}

Result<std::optional<bool>> OptBool(const ordered_json& m, const std::string& key) {
  const ordered_json* v = Find(m, key);
  if (v == nullptr) return std::optional<bool>();
  if (!v->is_boolean()) return DataLoss("GGUF metadata {}: expected a bool", key);
  return std::optional<bool>(v->get<bool>());
}

// A numeric array with at least `n` elements, or nullptr when the key is absent.
Result<const ordered_json*> OptNumbers(const ordered_json& m, const std::string& key, size_t n) {
  const ordered_json* v = Find(m, key);
  if (v == nullptr) return v;
  if (!v->is_array()) return DataLoss("GGUF metadata {}: expected an array", key);
  if (v->size() < n) {
    return DataLoss("GGUF metadata {}: {} values for {} tokens", key, v->size(), n);
  }
  for (size_t i = 0; i < n; ++i) {
    if (!(*v)[i].is_number()) return DataLoss("GGUF metadata {}[{}]: expected a number", key, i);
  }
  return v;
}

// A special id: the file's value when it is a valid id, else llama.cpp's default (dropped when out
// of range).
Result<std::optional<int32_t>> SpecialId(const ordered_json& m, const std::string& key,
                                         std::optional<int32_t> fallback, size_t n) {
  if (fallback && static_cast<size_t>(*fallback) >= n) fallback.reset();
  const ordered_json* v = Find(m, key);
  if (v == nullptr) return fallback;
  if (!v->is_number_integer()) return DataLoss("GGUF metadata {}: expected an integer", key);
  if (v->is_number_unsigned() || v->get<int64_t>() >= 0) {
    uint64_t id = v->get<uint64_t>();
    if (id < n) return std::optional<int32_t>(static_cast<int32_t>(id));
  }
  return fallback;  // llama.cpp: "bad special token ..., using default id"
}

bool IsAdded(int32_t type) { return type == kControl || type == kUnknown || type == kUserDefined; }
bool IsSpecial(int32_t type) { return type == kControl || type == kUnknown; }

Result<Vocab> ReadVocab(const ordered_json& m) {
  if (!m.is_object()) return DataLoss("GGUF metadata: expected an object");
  Vocab v;
  LOOM_ASSIGN_OR_RETURN(auto model, OptString(m, Key("ggml.model")));
  if (!model) return DataLoss("GGUF metadata has no tokenizer.ggml.model: no vocabulary");
  v.model = *model;
  LOOM_ASSIGN_OR_RETURN(auto pre, OptString(m, Key("ggml.pre")));
  v.pre = pre.value_or("");
  if (v.model != "llama" && v.model != "gpt2") {
    return Unimplemented(
        "GGUF tokenizer.ggml.model \"{}\" is not supported (Loom reads \"llama\", SentencePiece, "
        "and \"gpt2\", byte-level BPE)",
        v.model);
  }
  if (v.model == "gpt2") {
    v.bpe_pre = tok::FindGgufBpePre(v.pre);
    if (!v.bpe_pre) {
      return Unimplemented(
          "GGUF tokenizer.ggml.pre \"{}\" (byte-level BPE pre-tokenizer) is not "
          "supported",
          v.pre);
    }
  }

  const std::string tokens_key = Key("ggml.tokens");
  const ordered_json* tokens = Find(m, tokens_key);
  if (tokens == nullptr) return DataLoss("GGUF metadata has no {}", tokens_key);
  if (!tokens->is_array() || tokens->empty())
    return DataLoss("GGUF metadata {}: expected a non-empty array of strings", tokens_key);
  const size_t n = tokens->size();
  if (n > static_cast<size_t>(std::numeric_limits<int32_t>::max()))
    return DataLoss("GGUF metadata {}: {} tokens", tokens_key, n);
  v.tokens.resize(n);
  for (size_t i = 0; i < n; ++i) {
    if (!(*tokens)[i].is_string())
      return DataLoss("GGUF metadata {}[{}]: expected a string", tokens_key, i);
    v.tokens[i] = (*tokens)[i].get<std::string>();
    if (v.tokens[i].empty()) v.tokens[i] = fmt::format("[EMPTY_{}]", i);  // as llama.cpp
    if (!tok::IsValidUtf8(v.tokens[i]))
      return DataLoss("GGUF metadata {}[{}]: not valid UTF-8", tokens_key, i);
  }
  for (size_t i = 0; i < n; ++i) {
    auto [it, inserted] = v.ids.emplace(v.tokens[i], static_cast<int32_t>(i));
    if (!inserted) {
      return DataLoss("GGUF metadata {}: token {:?} appears twice (ids {} and {})", tokens_key,
                      v.tokens[i], it->second, i);
    }
  }

  LOOM_ASSIGN_OR_RETURN(const ordered_json* scores, OptNumbers(m, Key("ggml.scores"), n));
  v.scores.assign(n, 0.0f);
  if (scores) {
    for (size_t i = 0; i < n; ++i) v.scores[i] = (*scores)[i].get<float>();
  }
  LOOM_ASSIGN_OR_RETURN(const ordered_json* types, OptNumbers(m, Key("ggml.token_type"), n));
  v.types.assign(n, kNormal);
  if (types) {
    for (size_t i = 0; i < n; ++i) {
      int64_t t = (*types)[i].is_number_integer() ? (*types)[i].get<int64_t>() : -1;
      v.types[i] = (t >= kNormal && t <= kByte) ? static_cast<int32_t>(t) : kUndefined;
    }
  }
  v.rstrip.assign(n, false);

  // llama.cpp's defaults per model and pre-tokenizer, then the file's keys.
  const bool spm = v.model == "llama";
  std::optional<int32_t> bos = spm ? 1 : 11, eos = spm ? 2 : 11, unk;
  if (spm) unk = 0;
  if (!spm && v.bpe_pre->no_default_bos) bos.reset();
  v.add_bos = spm || v.bpe_pre->add_bos.value_or(false);
  v.add_space_prefix = spm;
  v.clean_spaces = !spm && v.bpe_pre->clean_spaces;
  LOOM_ASSIGN_OR_RETURN(v.bos, SpecialId(m, Key("ggml.bos_token_id"), bos, n));
  LOOM_ASSIGN_OR_RETURN(v.eos, SpecialId(m, Key("ggml.eos_token_id"), eos, n));
  LOOM_ASSIGN_OR_RETURN(v.unk, SpecialId(m, Key("ggml.unknown_token_id"), unk, n));
  LOOM_ASSIGN_OR_RETURN(v.pad, SpecialId(m, Key("ggml.padding_token_id"), std::nullopt, n));
  LOOM_ASSIGN_OR_RETURN(v.eot, SpecialId(m, Key("ggml.eot_token_id"), std::nullopt, n));
  LOOM_ASSIGN_OR_RETURN(v.eom, SpecialId(m, Key("ggml.eom_token_id"), std::nullopt, n));
  LOOM_ASSIGN_OR_RETURN(auto add_bos, OptBool(m, Key("ggml.add_bos_token")));
  LOOM_ASSIGN_OR_RETURN(auto add_eos, OptBool(m, Key("ggml.add_eos_token")));
  LOOM_ASSIGN_OR_RETURN(auto add_space_prefix, OptBool(m, Key("ggml.add_space_prefix")));
  v.add_bos = add_bos.value_or(v.add_bos);
  v.add_eos = add_eos.value_or(v.add_eos);
  v.add_space_prefix = add_space_prefix.value_or(v.add_space_prefix);
  if (v.add_bos && !v.bos)
    return DataLoss("GGUF metadata: tokenizer.ggml.add_bos_token is set but there is no BOS token");
  if (v.add_eos && !v.eos)
    return DataLoss("GGUF metadata: tokenizer.ggml.add_eos_token is set but there is no EOS token");

  // Text-based overrides, as llama.cpp applies them after loading.
  auto find = [&](std::string_view text) -> std::optional<int32_t> {
    auto it = v.ids.find(text);
    return it == v.ids.end() ? std::nullopt : std::optional<int32_t>(it->second);
  };
  auto force_control = [&](int32_t id) {
    if (!IsSpecial(v.types[id])) v.types[id] = kControl;
  };
  std::unordered_set<int32_t> eog;
  for (const FimRole& role : FimRoles()) {
    LOOM_ASSIGN_OR_RETURN(auto id, SpecialId(m, role.key, std::nullopt, n));
    if (!id) {
      for (std::string_view text : role.texts) {
        if ((id = find(text))) break;
      }
      if (id) force_control(*id);
    }
    if (id && role.eog) eog.insert(*id);
  }
  for (std::string_view text : kEogTexts) {
    if (auto id = find(text)) {
      eog.insert(*id);
      force_control(*id);
    }
  }
  // gpt-oss: these are rendered as text.
  for (std::string_view text : {"<|channel|>", "<|message|>", "<|start|>", "<|constrain|>"}) {
    if (auto id = find(text)) v.types[*id] = kUserDefined;
  }
  for (auto id : {v.eos, v.eot, v.eom}) {
    if (id) eog.insert(*id);
  }
  auto in_eog = [&](std::string_view text) {
    auto id = find(text);
    return id && eog.count(*id) > 0;
  };
  // o200k_harmony / solar-open: <|end|> separates turns and does not end generation.
  if (in_eog("<|end|>") && ((in_eog("<|return|>") && in_eog("<|call|>")) ||
                            (in_eog("<|calls|>") && in_eog("<|flush|>")))) {
    int32_t id = *find("<|end|>");
    eog.erase(id);
    v.types[id] = kUserDefined;
  }
  // gemma4: </s> is an ordinary token.
  if (in_eog("<|tool_response>") && in_eog("</s>")) {
    int32_t id = *find("</s>");
    eog.erase(id);
    v.types[id] = kNormal;
  }
  v.eog.assign(eog.begin(), eog.end());
  std::sort(v.eog.begin(), v.eog.end());

  // phi-3: special tokens swallow the whitespace after them, except <unk>, <s>, <|endoftext|>.
  LOOM_ASSIGN_OR_RETURN(auto name, OptString(m, "general.name"));
  std::string lower = name.value_or("");
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (lower.find("phi-3") != std::string::npos || lower.find("phi3") != std::string::npos) {
    for (size_t i = 0; i < n; ++i) v.rstrip[i] = IsAdded(v.types[i]);
    if (auto id = find("</s>")) v.rstrip[*id] = true;
    for (std::string_view text : {"<unk>", "<s>", "<|endoftext|>"}) {
      if (auto id = find(text)) v.rstrip[*id] = false;
    }
  }
  return v;
}

ordered_json VocabObject(const Vocab& v) {
  // ordered_json's own insert searches the object linearly; the tokens are known to be distinct,
  // so they are appended to its underlying vector directly.
  ordered_json vocab = ordered_json::object();
  auto& entries =
      static_cast<ordered_json::object_t::Container&>(vocab.get_ref<ordered_json::object_t&>());
  entries.reserve(v.tokens.size());
  for (size_t i = 0; i < v.tokens.size(); ++i)
    entries.emplace_back(v.tokens[i], static_cast<int32_t>(i));
  return vocab;
}

// Every split of a token into two tokens, ranked as transformers' GGUF converter ranks them:
// merged token's score descending (ties: lower id first), then the left and right parts' scores
// descending. NaN scores rank last.
ordered_json SpmMerges(const Vocab& v) {
  struct Merge {
    float score, left_score, right_score;
    int32_t id, left, right;
  };
  auto rank_score = [](float s) {
    return std::isnan(s) ? -std::numeric_limits<float>::infinity() : s;
  };
  std::vector<Merge> merges;
  for (size_t id = 0; id < v.tokens.size(); ++id) {
    std::string_view t = v.tokens[id];
    size_t k = 0;
    tok::NextCodePoint(t, k);
    for (; k < t.size(); tok::NextCodePoint(t, k)) {
      auto l = v.ids.find(t.substr(0, k));
      if (l == v.ids.end()) continue;
      auto r = v.ids.find(t.substr(k));
      if (r == v.ids.end()) continue;
      merges.push_back({rank_score(v.scores[id]), rank_score(v.scores[l->second]),
                        rank_score(v.scores[r->second]), static_cast<int32_t>(id), l->second,
                        r->second});
    }
  }
  std::stable_sort(merges.begin(), merges.end(), [](const Merge& a, const Merge& b) {
    if (a.score != b.score) return a.score > b.score;
    if (a.id != b.id) return a.id < b.id;
    if (a.left_score != b.left_score) return a.left_score > b.left_score;
    return a.right_score > b.right_score;
  });
  ordered_json out = ordered_json::array();
  for (const Merge& mg : merges) out.push_back({v.tokens[mg.left], v.tokens[mg.right]});
  return out;
}

// "left right", split at the first space after the first byte as llama.cpp does; merges whose
// parts or result are not tokens can never apply and are dropped.
Result<ordered_json> BpeMerges(const ordered_json& m, const Vocab& v) {
  const std::string key = Key("ggml.merges");
  const ordered_json* merges = Find(m, key);
  if (merges == nullptr)
    return DataLoss("GGUF metadata has no {} (needed by gpt2 vocabularies)", key);
  if (!merges->is_array()) return DataLoss("GGUF metadata {}: expected an array of strings", key);
  ordered_json out = ordered_json::array();
  std::string joined;
  for (size_t i = 0; i < merges->size(); ++i) {
    const ordered_json& e = (*merges)[i];
    if (!e.is_string()) return DataLoss("GGUF metadata {}[{}]: expected a string", key, i);
    const std::string& s = e.get_ref<const std::string&>();
    size_t sp = s.find(' ', 1);
    if (sp == std::string::npos) continue;
    std::string_view left = std::string_view(s).substr(0, sp),
                     right = std::string_view(s).substr(sp + 1);
    joined.assign(left);
    joined.append(right);
    if (!v.ids.count(left) || !v.ids.count(right) || !v.ids.count(joined)) continue;
    out.push_back({left, right});
  }
  return out;
}

ordered_json AddedTokens(const Vocab& v) {
  ordered_json added = ordered_json::array();
  for (size_t i = 0; i < v.tokens.size(); ++i) {
    if (!IsAdded(v.types[i])) continue;
    added.push_back({{"id", static_cast<int32_t>(i)},
                     {"content", v.tokens[i]},
                     {"single_word", false},
                     {"lstrip", false},
                     {"rstrip", static_cast<bool>(v.rstrip[i])},
                     {"normalized", false},
                     {"special", IsSpecial(v.types[i])}});
  }
  return added;
}

// [bos] $A [eos], and for pairs the same again with type id 1 (LlamaTokenizerFast's template).
ordered_json PostProcessor(const Vocab& v) {
  if (!v.add_bos && !v.add_eos) return nullptr;
  ordered_json specials = ordered_json::object();
  auto piece = [&](int32_t id, int type_id) {
    const std::string& text = v.tokens[id];
    specials[text] = {{"id", text}, {"ids", {id}}, {"tokens", {text}}};
    return ordered_json{{"SpecialToken", {{"id", text}, {"type_id", type_id}}}};
  };
  auto sequence = [&](int type_id, const char* seq) {
    ordered_json out = ordered_json::array();
    if (v.add_bos) out.push_back(piece(*v.bos, type_id));
    out.push_back({{"Sequence", {{"id", seq}, {"type_id", type_id}}}});
    if (v.add_eos) out.push_back(piece(*v.eos, type_id));
    return out;
  };
  ordered_json single = sequence(0, "A"), pair = single;
  for (auto& e : sequence(1, "B")) pair.push_back(e);
  return {{"type", "TemplateProcessing"},
          {"single", single},
          {"pair", pair},
          {"special_tokens", specials}};
}

ordered_json ReplaceStep(std::string_view from, std::string_view to) {
  return {{"type", "Replace"}, {"pattern", {{"String", from}}}, {"content", to}};
}

Result<ordered_json> BuildTokenizerJson(const ordered_json& m, const Vocab& v) {
  ordered_json model = {{"type", "BPE"},
                        {"dropout", nullptr},
                        {"unk_token", nullptr},
                        {"continuing_subword_prefix", nullptr},
                        {"end_of_word_suffix", nullptr},
                        {"fuse_unk", false},
                        {"byte_fallback", false},
                        {"ignore_merges", false}};
  ordered_json normalizer, pre_tokenizer, decoder;
  if (v.model == "llama") {
    if (v.unk) model["unk_token"] = v.tokens[*v.unk];
    model["byte_fallback"] = true;
    model["vocab"] = VocabObject(v);
    model["merges"] = SpmMerges(v);
    ordered_json steps = ordered_json::array();
    if (v.add_space_prefix) steps.push_back({{"type", "Prepend"}, {"prepend", kSpace}});
    steps.push_back(ReplaceStep(" ", kSpace));
    normalizer = {{"type", "Sequence"}, {"normalizers", steps}};
    ordered_json dec = {ReplaceStep(kSpace, " "), {{"type", "ByteFallback"}}, {{"type", "Fuse"}}};
    if (v.add_space_prefix)
      dec.push_back({{"type", "Strip"}, {"content", " "}, {"start", 1}, {"stop", 0}});
    decoder = {{"type", "Sequence"}, {"decoders", dec}};
  } else {
    model["ignore_merges"] = v.bpe_pre->ignore_merges;
    model["vocab"] = VocabObject(v);
    LOOM_ASSIGN_OR_RETURN(model["merges"], BpeMerges(m, v));
    ordered_json steps = ordered_json::array();
    for (const std::string& re : v.bpe_pre->regexes) {
      steps.push_back({{"type", "Split"},
                       {"pattern", {{"Regex", re}}},
                       {"behavior", "Isolated"},
                       {"invert", false}});
    }
    steps.push_back({{"type", "ByteLevel"},
                     {"add_prefix_space", false},
                     {"trim_offsets", false},
                     {"use_regex", false}});
    pre_tokenizer = {{"type", "Sequence"}, {"pretokenizers", steps}};
    decoder = {{"type", "ByteLevel"},
               {"add_prefix_space", false},
               {"trim_offsets", false},
               {"use_regex", false}};
  }
  return ordered_json{{"version", "1.0"},
                      {"truncation", nullptr},
                      {"padding", nullptr},
                      {"added_tokens", AddedTokens(v)},
                      {"normalizer", normalizer},
                      {"pre_tokenizer", pre_tokenizer},
                      {"post_processor", PostProcessor(v)},
                      {"decoder", decoder},
                      {"model", model}};
}

Result<ordered_json> BuildTokenizerConfig(const ordered_json& m, const Vocab& v) {
  ordered_json c = ordered_json::object();
  // Only tokens that are added tokens: transformers would register any other special-token string
  // as a new added token and split it out of text, which llama.cpp does not do.
  auto special = [&](const char* name, std::optional<int32_t> id) {
    if (id && IsAdded(v.types[*id])) c[name] = v.tokens[*id];
  };
  special("bos_token", v.bos);
  special("eos_token", v.eos);
  special("unk_token", v.unk);
  special("pad_token", v.pad);
  c["add_bos_token"] = v.add_bos;
  c["add_eos_token"] = v.add_eos;
  c["clean_up_tokenization_spaces"] = v.clean_spaces;
  LOOM_ASSIGN_OR_RETURN(auto chat_template, OptString(m, "tokenizer.chat_template"));
  ordered_json named = ordered_json::array();
  const std::string prefix = "tokenizer.chat_template.";
  for (const auto& [key, value] : m.items()) {
    if (!key.starts_with(prefix) || key.size() == prefix.size()) continue;
    if (!value.is_string()) return DataLoss("GGUF metadata {}: expected a string", key);
    named.push_back({{"name", key.substr(prefix.size())}, {"template", value}});
  }
  if (!named.empty()) {
    if (chat_template) {
      ordered_json def = {{"name", "default"}, {"template", *chat_template}};
      named.insert(named.begin(), std::move(def));
    }
    c["chat_template"] = named;
  } else if (chat_template) {
    c["chat_template"] = *chat_template;
  }
  return c;
}

}  // namespace

Result<GgufTokenizerFiles> TokenizerFilesFromGguf(const ordered_json& metadata) {
  LOOM_ASSIGN_OR_RETURN(Vocab v, ReadVocab(metadata));
  GgufTokenizerFiles f;
  LOOM_ASSIGN_OR_RETURN(f.tokenizer_json, BuildTokenizerJson(metadata, v));
  LOOM_ASSIGN_OR_RETURN(f.tokenizer_config, BuildTokenizerConfig(metadata, v));
  f.bos_id = v.bos;
  f.eos_id = v.eos;
  f.unk_id = v.unk;
  f.pad_id = v.pad;
  f.add_bos = v.add_bos;
  f.add_eos = v.add_eos;
  f.eog_ids = v.eog;
  return f;
}

Result<ordered_json> TokenizerJsonFromGguf(const ordered_json& metadata) {
  LOOM_ASSIGN_OR_RETURN(Vocab v, ReadVocab(metadata));
  return BuildTokenizerJson(metadata, v);
}

Result<Tokenizer> TokenizerFromGguf(const ordered_json& metadata) {
  LOOM_ASSIGN_OR_RETURN(GgufTokenizerFiles f, TokenizerFilesFromGguf(metadata));
  return Tokenizer::FromJson(f.tokenizer_json.dump(), f.tokenizer_config.dump());
}

}  // namespace loom
