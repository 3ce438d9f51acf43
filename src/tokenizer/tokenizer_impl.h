// Internal state behind loom::Tokenizer (shared, immutable after loading).
#pragma once

#include <memory>
#include <span>
#include <string>
#include <vector>

#include "tokenizer/added_tokens.h"
#include "tokenizer/decoders.h"
#include "tokenizer/model.h"
#include "tokenizer/normalizers.h"
#include "tokenizer/post_processors.h"
#include "tokenizer/pre_tokenizers.h"
#include "tokenizer/tokenizer.h"

namespace loom {

struct TokenizerImpl {
  TokenizerConfig config;
  std::unique_ptr<tok::Normalizer> normalizer;
  std::unique_ptr<tok::PreTokenizer> pre_tokenizer;
  std::unique_ptr<tok::Model> model;
  std::unique_ptr<tok::PostProcessor> post_processor;
  std::unique_ptr<tok::Decoder> decoder;
  tok::AddedVocabulary added;
  std::vector<uint8_t> is_special;  // [VocabSize()]
  int32_t vocab_size = 0;
  // Streaming: the decoder may rewrite the last token's text when another follows.
  bool tail_depends_on_next_token = false;

  // Appends the ids of one sequence (no post-processing). `text` is valid UTF-8.
  void EncodeSequence(std::string_view text, std::vector<int32_t>& ids) const;
  // `clean_up` applies config.clean_up_tokenization_spaces; the streaming detokenizer applies it
  // itself.
  std::string DecodeIds(std::span<const int32_t> ids, bool skip_special_tokens,
                        bool clean_up = true) const;
  // Token string for `id` (added token content first), or nullptr.
  const std::string* TokenString(int32_t id) const;
  std::optional<int32_t> Resolve(std::string_view token) const;
};

}  // namespace loom
