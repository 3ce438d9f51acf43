// llama.cpp's byte-level BPE pre-tokenizers by `tokenizer.ggml.pre` name (llm_tokenizer_bpe and
// llama_vocab::impl::load in src/llama-vocab.cpp): the split regexes, applied one after another
// with every match and every gap between matches kept as a piece (a Split pre-tokenizer with
// behavior Isolated), and the flags that come with the name.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace loom::tok {

struct GgufBpePre {
  std::vector<std::string> regexes;  // Oniguruma/PCRE2 syntax, applied in order
  bool ignore_merges = false;        // a piece found whole in the vocab skips BPE
  bool clean_spaces = true;          // llama.cpp's detokenizer cleanup (" ." -> ".", ...)
  std::optional<bool> add_bos;       // default when tokenizer.ggml.add_bos_token is absent
  bool no_default_bos = false;       // no BOS unless tokenizer.ggml.bos_token_id names one
};

// The pre-tokenizer llama.cpp uses for `name` ("" = missing key = "default"), or nullopt when
// Loom does not implement it (llama.cpp's own custom splitters: kimi-k2, afmoe, superbpe, tiny_aya;
// SentencePiece-style BPE: gemma4, sarvam-moe; or extra token rules: chameleon, roberta-bpe, ...).
std::optional<GgufBpePre> FindGgufBpePre(std::string_view name);

}  // namespace loom::tok
