// Pre-tokenizers: split a normalized section into the pieces the model tokenizes independently.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "core/status.h"
#include "tokenizer/json_util.h"

namespace loom::tok {

// One piece of a section. `at_start` is true when the piece begins the whole input text
// (Metaspace's prepend_scheme "first" looks at it).
struct Piece {
  std::string text;
  bool at_start = false;
};

class PreTokenizer {
 public:
  virtual ~PreTokenizer() = default;
  // Replaces `pieces` by their refinement. Empty pieces may be dropped.
  virtual void PreTokenize(std::vector<Piece>& pieces) const = 0;
};

// tokenizer.json "pre_tokenizer" (null -> nullptr). Types: Sequence, ByteLevel, Split, Metaspace,
// BertPreTokenizer, Whitespace, WhitespaceSplit, Digits, Punctuation, CharDelimiterSplit,
// FixedLength.
Result<std::unique_ptr<PreTokenizer>> CreatePreTokenizer(const Json& j, const std::string& where);

}  // namespace loom::tok
