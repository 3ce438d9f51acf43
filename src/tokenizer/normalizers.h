// Normalizers: text -> text rewrites applied to every non-added-token section before
// pre-tokenization.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "core/status.h"
#include "tokenizer/json_util.h"

namespace loom::tok {

class Normalizer {
 public:
  virtual ~Normalizer() = default;
  // Rewrites `text` (valid UTF-8) in place.
  virtual void Normalize(std::string& text) const = 0;
};

// Builds the normalizer described by tokenizer.json's "normalizer" object (null -> nullptr).
// Types: Sequence, NFC, NFD, NFKC, NFKD, Lowercase, Strip, StripAccents, Replace, Prepend,
// BertNormalizer, Precompiled, ByteLevel.
Result<std::unique_ptr<Normalizer>> CreateNormalizer(const Json& j, const std::string& where);

// SentencePiece's precompiled_charsmap (base64 in tokenizer.json): a Darts double-array trie of
// UTF-8 keys whose values are offsets of NUL-terminated replacements. Applied per extended grapheme
// cluster exactly as the Rust tokenizers crate does (see precompiled.cc).
Result<std::unique_ptr<Normalizer>> CreatePrecompiled(const Json& j, const std::string& where);

}  // namespace loom::tok
