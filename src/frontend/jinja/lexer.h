// Tokenizer for Jinja2 templates, configured as transformers configures jinja2: trim_blocks and
// lstrip_blocks on, keep_trailing_newline off, default delimiters. Whitespace control
// ({%- -%} {{- -}} {#- -#}, and "+" to opt out of lstrip/trim) is applied here, so data tokens
// carry exactly the text that is output.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace loom::jinja {

enum class TokenType : uint8_t {
  kData,           // template text to output verbatim
  kVariableBegin,  // {{
  kVariableEnd,    // }}
  kBlockBegin,     // {%
  kBlockEnd,       // %}
  kName,
  kString,  // value: the unescaped literal
  kInteger,
  kFloat,
  kOperator,  // value: the operator text, e.g. "//"
  kEof,
};

struct Token {
  TokenType type = TokenType::kEof;
  std::string value;
  int line = 1;
  int64_t int_value = 0;
  double float_value = 0;
};

// Errors carry the line number; the message follows jinja2's where practical.
Result<std::vector<Token>> Tokenize(std::string_view source);

// "line N: message", the form every syntax error takes.
Status SyntaxError(int line, std::string_view message);

}  // namespace loom::jinja
