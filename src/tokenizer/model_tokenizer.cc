#include "tokenizer/model_tokenizer.h"

#include <fstream>

#include "loader/gguf.h"
#include "loader/gguf_checkpoint.h"
#include "tokenizer/gguf_vocab.h"

namespace loom {

namespace fs = std::filesystem;
using nlohmann::ordered_json;

namespace {

Result<GgufTokenizerFiles> GgufFiles(const fs::path& model) {
  LOOM_ASSIGN_OR_RETURN(GgufFile file, GgufFile::Open(model));
  Result<GgufTokenizerFiles> files = TokenizerFilesFromGguf(file.metadata());
  if (!files.ok())
    return Status(files.status().code(), model.string() + ": " + files.status().message());
  return files;
}

}  // namespace

Result<ordered_json> LoadTokenizerConfig(const fs::path& model) {
  if (IsGgufPath(model)) {
    LOOM_ASSIGN_OR_RETURN(GgufTokenizerFiles files, GgufFiles(model));
    return std::move(files.tokenizer_config);
  }
  ordered_json config = ordered_json::object();
  const fs::path path = model / "tokenizer_config.json";
  if (std::ifstream in(path); in) {
    config = ordered_json::parse(in, nullptr, /*allow_exceptions=*/false);
    if (!config.is_object()) return DataLoss("{}: not a JSON object", path.string());
  }
  return config;
}

Result<ModelTokenizer> LoadModelTokenizer(const fs::path& model) {
  ModelTokenizer m;
  if (IsGgufPath(model)) {
    LOOM_ASSIGN_OR_RETURN(GgufTokenizerFiles files, GgufFiles(model));
    LOOM_ASSIGN_OR_RETURN(m.tokenizer, Tokenizer::FromJson(files.tokenizer_json.dump(),
                                                           files.tokenizer_config.dump()));
    m.config = std::move(files.tokenizer_config);
    m.eog_ids = std::move(files.eog_ids);
    return m;
  }
  if (fs::exists(model / "tokenizer.json")) {
    LOOM_ASSIGN_OR_RETURN(m.tokenizer, Tokenizer::FromDir(model));
  }
  LOOM_ASSIGN_OR_RETURN(m.config, LoadTokenizerConfig(model));
  return m;
}

Result<Tokenizer> LoadTokenizer(const fs::path& model) {
  LOOM_ASSIGN_OR_RETURN(ModelTokenizer m, LoadModelTokenizer(model));
  if (!m.tokenizer) return NotFound("{} not found", (model / "tokenizer.json").string());
  return std::move(*m.tokenizer);
}

}  // namespace loom
