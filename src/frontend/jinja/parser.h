// Recursive-descent parser producing the syntax tree; grammar and precedence follow
// jinja2.parser.Parser (e.g. `**` is left-associative and binds looser than unary minus's
// operand, filters bind tighter than binary operators).
#pragma once

#include <vector>

#include "core/status.h"
#include "frontend/jinja/ast.h"
#include "frontend/jinja/lexer.h"

namespace loom::jinja {

// Expressions and statements nested deeper than this are rejected at parse time, so neither the
// parser nor the interpreter can exhaust the C++ stack.
inline constexpr int kMaxNesting = 100;

Result<StmtList> ParseTemplate(const std::vector<Token>& tokens);

}  // namespace loom::jinja
