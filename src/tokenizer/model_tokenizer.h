// A model's tokenizer wherever it lives: a Hugging Face checkpoint directory (tokenizer.json and
// tokenizer_config.json) or a GGUF file (its tokenizer.* metadata, converted by gguf_vocab.h).
#pragma once

#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <vector>

#include "core/status.h"
#include "tokenizer/tokenizer.h"

namespace loom {

struct ModelTokenizer {
  std::optional<Tokenizer> tokenizer;  // none: a directory without tokenizer.json
  // tokenizer_config.json (special tokens, chat_template, ...); an empty object when absent.
  nlohmann::ordered_json config = nlohmann::ordered_json::object();
  // GGUF files: llama.cpp's end-of-generation tokens (eos, eot, <|im_end|>, ...), which stop
  // generation as they do in llama.cpp. Empty for directories (generation_config.json decides).
  std::vector<int32_t> eog_ids;
};

Result<ModelTokenizer> LoadModelTokenizer(const std::filesystem::path& model);
// tokenizer_config.json alone (no tokenizer is built): what chat templates need.
Result<nlohmann::ordered_json> LoadTokenizerConfig(const std::filesystem::path& model);
// The tokenizer alone; NotFound when the model has none.
Result<Tokenizer> LoadTokenizer(const std::filesystem::path& model);

}  // namespace loom
