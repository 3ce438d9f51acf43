// Loom's Tokenizer from a GGUF file's `tokenizer.*` metadata, tokenizing as llama.cpp does on the
// same file (src/llama-vocab.cpp). The vocabulary is expressed as the Hugging Face tokenizer.json
// and tokenizer_config.json that Tokenizer::FromJson reads, the way transformers' GGUF converter
// does:
//
//  - `tokenizer.ggml.model` = "llama" (SentencePiece; llama.cpp's llm_tokenizer_spm): a BPE model
//    whose merges are every split of a token into two tokens, ranked by the merged token's score
//    (higher first), with byte_fallback to the <0xXX> tokens; a Prepend("▁") (when
//    `add_space_prefix`, the default) + Replace(" " -> "▁") normalizer; decoder Replace("▁" -> "
//    "), ByteFallback, Fuse, Strip(1 leading space). llama.cpp merges the best-scoring adjacent
//    pair, leftmost first; BPE ranks are the same order except between different merges of equal
//    score (SentencePiece vocabularies give distinct scores to the pieces that merge).
//  - `tokenizer.ggml.model` = "gpt2" (byte-level BPE): the merges as given, `tokenizer.ggml.pre`
//    mapped to llama.cpp's split regexes for that name (a Sequence of Split pre-tokenizers, then
//    ByteLevel), ignore_merges where llama.cpp sets it; an unknown `pre` is Unimplemented.
//  - any other model (bert, t5, rwkv, ...) is Unimplemented.
//
// Tokens typed CONTROL or UNKNOWN become special added tokens and USER_DEFINED ones non-special
// added tokens, matched in the raw text before normalization: llama.cpp's
// llama_tokenize(parse_special = true), which is what llama-tokenize does by default (with
// parse_special = false llama.cpp would tokenize control-token text as plain text instead). As
// llama.cpp does, tokens whose text marks them as end-of-generation or fill-in-the-middle
// (`<|im_end|>`, `<|fim_prefix|>`, ...) count as CONTROL whatever their stored type.
// add_bos_token / add_eos_token (llama.cpp's defaults per model and `pre` when absent) become a
// TemplateProcessing post-processor, so Encode(text, add_special_tokens) equals
// llama_tokenize(text, add_special, parse_special = true).
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <vector>

#include "core/status.h"
#include "tokenizer/tokenizer.h"

namespace loom {

struct GgufTokenizerFiles {
  nlohmann::ordered_json tokenizer_json;  // what Tokenizer::FromJson reads as tokenizer.json
  // tokenizer_config.json: bos/eos/unk/pad token strings (those that are added tokens),
  // add_bos_token, add_eos_token, clean_up_tokenization_spaces and chat_template (a string, or a
  // list of {name, template} when the file has `tokenizer.chat_template.<name>` keys). This is
  // also the `tokenizer_config` RenderChat takes.
  nlohmann::ordered_json tokenizer_config;
  // Special ids as llama.cpp resolves them (its per-model defaults when a key is absent; ids out of
  // range dropped).
  std::optional<int32_t> bos_id, eos_id, unk_id, pad_id;
  bool add_bos = false, add_eos = false;
  // llama.cpp's end-of-generation set: eos, eot, eom, fim pad/rep/sep and the tokens whose text
  // marks them (`<|eot_id|>`, `<|im_end|>`, `<end_of_turn>`, ...), ascending.
  std::vector<int32_t> eog_ids;
};

// Both files from a GgufFile::metadata() object (GGUF arrays as JSON arrays). DataLoss names the
// key for malformed metadata (missing tokens, mismatched array lengths, duplicate tokens, ids out
// of range); Unimplemented names an unsupported tokenizer model or pre-tokenizer.
Result<GgufTokenizerFiles> TokenizerFilesFromGguf(const nlohmann::ordered_json& metadata);

// The tokenizer.json part alone.
Result<nlohmann::ordered_json> TokenizerJsonFromGguf(const nlohmann::ordered_json& metadata);

// Tokenizer::FromJson over TokenizerFilesFromGguf.
Result<Tokenizer> TokenizerFromGguf(const nlohmann::ordered_json& metadata);

}  // namespace loom
