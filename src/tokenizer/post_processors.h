// Post-processors: add special tokens around one sequence or a pair and assign token type ids.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/status.h"
#include "tokenizer/json_util.h"
#include "tokenizer/model.h"

namespace loom::tok {

// One encoded sequence: ids and their token type ids (same length).
struct Segment {
  std::vector<int32_t> ids;
  std::vector<int32_t> type_ids;
};

class PostProcessor {
 public:
  virtual ~PostProcessor() = default;
  // `segments` holds 1 (single) or 2 (pair) sequences; processors may merge them. The caller
  // concatenates whatever remains.
  virtual void Process(std::vector<Segment>& segments, bool add_special_tokens) const = 0;
};

// Resolves a special-token string to an id (added tokens first, then the model vocab).
using TokenResolver = std::function<std::optional<int32_t>(std::string_view)>;

// tokenizer.json "post_processor" (null -> nullptr). Types: TemplateProcessing, BertProcessing,
// RobertaProcessing, ByteLevel, Sequence.
Result<std::unique_ptr<PostProcessor>> CreatePostProcessor(const Json& j, const std::string& where,
                                                           const TokenResolver& resolve);

// What transformers' LlamaTokenizerFast.update_post_processor() installs:
// single "[bos:0] $A:0 [eos:0]", pair "[bos:0] $A:0 [eos:0] [bos:1] $B:1 [eos:1]" (brackets =
// optional).
std::unique_ptr<PostProcessor> MakeBosEosTemplate(std::optional<int32_t> bos,
                                                  std::optional<int32_t> eos);

}  // namespace loom::tok
