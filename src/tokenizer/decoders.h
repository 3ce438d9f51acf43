// Decoders: token strings -> text pieces (the "decode chain"), joined by the caller.
#pragma once

#include <memory>
#include <string>
#include <unordered_set>
#include <vector>

#include "core/status.h"
#include "tokenizer/json_util.h"

namespace loom::tok {

class Decoder {
 public:
  virtual ~Decoder() = default;
  virtual void DecodeChain(std::vector<std::string>& tokens) const = 0;
  // True when a later token can change the text this decoder produced for the current last token
  // (BPEDecoder's suffix, Strip from the end): the streaming detokenizer then holds the last token
  // back.
  virtual bool TailDependsOnNextToken() const { return false; }
};

// Contents of added tokens; the ByteLevel decoder passes them through verbatim (tokenizers.js).
using AddedContents = std::unordered_set<std::string>;

// tokenizer.json "decoder" (null -> nullptr). Types: ByteLevel, Metaspace, WordPiece, BPEDecoder,
// ByteFallback, Fuse, Strip, Replace, CTC, Sequence.
Result<std::unique_ptr<Decoder>> CreateDecoder(const Json& j, const std::string& where,
                                               std::shared_ptr<const AddedContents> added);

// transformers' clean_up_tokenization: " ." -> "." etc., applied in this order over the whole
// string.
std::string CleanUpTokenization(std::string_view text);

}  // namespace loom::tok
