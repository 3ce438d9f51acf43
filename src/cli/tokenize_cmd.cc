// `loom tokenize` and `loom detokenize`: the checkpoint's tokenizer alone (a folder with only
// tokenizer.json and tokenizer_config.json is enough), JSON on stdout.
#include <fmt/format.h>

#include <nlohmann/json.hpp>
#include <optional>

#include "cli/commands.h"
#include "cli/parse_ids.h"
#include "tokenizer/model_tokenizer.h"

namespace loom::cli {
namespace {

using nlohmann::ordered_json;

// Invalid UTF-8 (a lone byte-fallback token) becomes U+FFFD instead of failing the dump.
void PrintJson(const ordered_json& j) {
  fmt::print("{}\n", j.dump(-1, ' ', false, ordered_json::error_handler_t::replace));
}

struct TokenizeOptions {
  std::string model;
  std::string text;
  std::optional<std::string> text_pair;
  bool no_special_tokens = false;
};

Status RunTokenize(const TokenizeOptions& o) {
  LOOM_ASSIGN_OR_RETURN(Tokenizer tok, LoadTokenizer(o.model));
  std::optional<std::string_view> pair;
  if (o.text_pair) pair = *o.text_pair;
  LOOM_ASSIGN_OR_RETURN(Encoding e, tok.Encode(o.text, pair, !o.no_special_tokens));
  PrintJson(ordered_json{{"ids", e.ids}, {"type_ids", e.type_ids}});
  return Status::Ok();
}

struct DetokenizeOptions {
  std::string model;
  std::string ids;
  bool skip_special_tokens = false;
};

Status RunDetokenize(const DetokenizeOptions& o) {
  LOOM_ASSIGN_OR_RETURN(std::vector<int32_t> ids, ParseIds(o.ids, "--ids"));
  LOOM_ASSIGN_OR_RETURN(Tokenizer tok, LoadTokenizer(o.model));
  for (int32_t id : ids) {
    if (id >= tok.VocabSize())
      return InvalidArgument("--ids: token id {} is out of range [0, {})", id, tok.VocabSize());
  }
  PrintJson(ordered_json{{"text", tok.Decode(ids, o.skip_special_tokens)}});
  return Status::Ok();
}

}  // namespace

void AddTokenizeCommands(CLI::App& app, std::function<Status()>& run) {
  CLI::App* tk = app.add_subcommand("tokenize", "Encode text with the checkpoint's tokenizer");
  auto to = std::make_shared<TokenizeOptions>();
  tk->add_option("--model", to->model, "Directory with tokenizer.json, or a .gguf file")
      ->required();
  tk->add_option("--text", to->text, "Text to encode")->required();
  tk->add_option("--text-pair", to->text_pair, "Second sequence (pair encoding with type ids)");
  tk->add_flag("--no-special-tokens", to->no_special_tokens,
               "Do not add BOS/EOS/CLS... as the config says");
  tk->callback([&run, to] { run = [to] { return RunTokenize(*to); }; });

  CLI::App* dt =
      app.add_subcommand("detokenize", "Decode token ids with the checkpoint's tokenizer");
  auto d = std::make_shared<DetokenizeOptions>();
  dt->add_option("--model", d->model, "Directory with tokenizer.json, or a .gguf file")->required();
  dt->add_option("--ids", d->ids, "Token ids, comma-separated")->required();
  dt->add_flag("--skip-special-tokens", d->skip_special_tokens,
               "Drop special tokens from the text");
  dt->callback([&run, d] { run = [d] { return RunDetokenize(*d); }; });
}

}  // namespace loom::cli
