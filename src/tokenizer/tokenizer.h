// Hugging Face `tokenizers` semantics in C++: loads tokenizer.json (+ tokenizer_config.json) and
// encodes / decodes exactly as transformers' PreTrainedTokenizerFast does (verified id for id
// against
// @huggingface/tokenizers on tests/data/tokenizers/corpus.json; see tests/tokenizer_test.cc).
//
// Pipeline per Encode: added tokens (normalized=false) are split out of the raw text -> each
// remaining section is normalized -> added tokens (normalized=true) are split out of it ->
// pre-tokenizer -> model (BPE / WordPiece / Unigram) -> post-processor (special tokens, type ids).
// Decode maps ids to token strings, runs the decoder chain and transformers' clean_up_tokenization
// when tokenizer_config says so. Tokenizer is cheap to copy (shared immutable state) and safe to
// use from several threads.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace loom {

struct Encoding {
  std::vector<int32_t> ids;
  std::vector<int32_t>
      type_ids;  // same length as ids; 0 for the first sequence, template-defined for pairs
};

// tokenizer_config.json with transformers' semantics.
struct TokenizerConfig {
  // Special tokens as strings; AddedToken dicts ({"content": ...}) are flattened to their content.
  std::optional<std::string> bos_token, eos_token, unk_token, pad_token, cls_token, sep_token,
      mask_token;
  std::vector<std::string> additional_special_tokens;
  // For Llama/Gemma tokenizer classes these rebuild the post-processor as LlamaTokenizerFast does
  // (defaults true / false there); other classes ignore them, as transformers does.
  std::optional<bool> add_bos_token, add_eos_token;
  // transformers applies clean_up_tokenization (" ." -> "." ...) in decode when true; default
  // false.
  bool clean_up_tokenization_spaces = false;
  std::optional<std::string> tokenizer_class;
  std::optional<int64_t> model_max_length;  // absent when the file says something like 1e30
  nlohmann::ordered_json chat_template;     // string, list of {"name", "template"}, or null
  nlohmann::ordered_json raw;               // the whole file (null when there was none)

  // The chat template called `name` ("default" picks the string form or the entry named "default").
  std::optional<std::string> ChatTemplate(std::string_view name = "default") const;
  // Parses tokenizer_config.json text; "" gives the defaults.
  static Result<TokenizerConfig> FromJson(const std::string& text);
};

struct TokenizerImpl;

class Tokenizer {
 public:
  // `dir` holds tokenizer.json and optionally tokenizer_config.json; nothing else is needed.
  static Result<Tokenizer> FromDir(const std::filesystem::path& dir);
  // File contents; `tokenizer_config_json` may be empty.
  static Result<Tokenizer> FromJson(const std::string& tokenizer_json,
                                    const std::string& tokenizer_config_json);

  // Encodes `text` (and `pair`, e.g. for cross-encoders). Errors only for invalid UTF-8 input.
  Result<Encoding> Encode(std::string_view text,
                          std::optional<std::string_view> pair = std::nullopt,
                          bool add_special_tokens = true) const;
  // transformers' decode: unknown ids are skipped; special tokens dropped when asked;
  // clean_up_tokenization_spaces from the config. spaces_between_special_tokens only affects slow
  // (Python) tokenizers in transformers, so it is accepted and ignored here.
  std::string Decode(std::span<const int32_t> ids, bool skip_special_tokens = false,
                     bool spaces_between_special_tokens = true) const;

  // Largest id + 1 over the model vocabulary and the added tokens.
  int32_t VocabSize() const;
  std::optional<int32_t> TokenToId(std::string_view token) const;
  std::optional<std::string> IdToToken(int32_t id) const;
  bool IsSpecial(int32_t id) const;
  std::vector<int32_t> SpecialIds() const;
  std::optional<int32_t> BosTokenId() const;
  std::optional<int32_t> EosTokenId() const;
  const TokenizerConfig& config() const;

 private:
  friend class StreamingDetokenizer;
  explicit Tokenizer(std::shared_ptr<const TokenizerImpl> impl) : impl_(std::move(impl)) {}
  std::shared_ptr<const TokenizerImpl> impl_;
};

// Incremental detokenization for streaming generation, in the spirit of vLLM's prefix/read offsets:
// the ids are decoded over a short sliding window and only the part of the text that later ids
// cannot change is released. Never releases a partial UTF-8 sequence (a trailing U+FFFD is held
// back), nor a trailing space that clean_up_tokenization could still remove. The concatenation of
// every Push() plus Flush() equals Decode(all pushed ids, skip_special_tokens).
class StreamingDetokenizer {
 public:
  // `prompt_ids` give left context (e.g. so a Metaspace/Strip decoder does not drop the first space
  // of the continuation); their own text is never released.
  StreamingDetokenizer(const Tokenizer& tokenizer, bool skip_special_tokens,
                       std::span<const int32_t> prompt_ids = {});
  // Adds one id; returns the newly released text (possibly empty).
  std::string Push(int32_t id);
  // Releases whatever is still held (end of generation).
  std::string Flush();

 private:
  size_t StableLength(const std::string& window_text) const;
  std::string Finish(std::string_view raw) const;  // clean_up_tokenization of a released chunk
  void MaybeAdvanceWindow(const std::string& window_text);

  Tokenizer tokenizer_;
  bool skip_special_tokens_;
  std::vector<int32_t> window_;  // ids whose decode is window_text; earlier ids are fully released
  size_t released_ = 0;          // bytes of the raw (pre-cleanup) window decode already released
};

}  // namespace loom
