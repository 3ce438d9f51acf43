// Expression parsing; grammar and precedence follow jinja2.parser.Parser.
#include <fmt/core.h>

#include "frontend/jinja/filters.h"
#include "frontend/jinja/parser_internal.h"

namespace loom::jinja {

bool Parser::IsTupleEnd(std::initializer_list<std::string_view> extra_end) const {
  if (Cur().type == TokenType::kVariableEnd || Cur().type == TokenType::kBlockEnd || IsOp(")")) {
    return true;
  }
  for (std::string_view e : extra_end) {
    if (IsName(e)) return true;
  }
  return false;
}

Result<ExprPtr> Parser::ParseTuple(bool simplified, bool with_condexpr,
                                   std::initializer_list<std::string_view> extra_end,
                                   bool explicit_parens) {
  int line = Cur().line;
  std::vector<ExprPtr> items;
  bool is_tuple = false;
  while (true) {
    if (!items.empty()) LOOM_RETURN_IF_ERROR(ExpectOp(","));
    if (IsTupleEnd(extra_end)) break;
    ExprPtr item;
    if (simplified) {
      LOOM_ASSIGN_OR_RETURN(item, ParsePrimary());
    } else {
      LOOM_ASSIGN_OR_RETURN(item, ParseExpression(with_condexpr));
    }
    items.push_back(std::move(item));
    if (!IsOp(",")) break;
    is_tuple = true;
  }
  if (!is_tuple) {
    if (!items.empty()) return std::move(items[0]);
    if (!explicit_parens) {
      return SyntaxError(Cur().line,
                         fmt::format("Expected an expression, got '{}'", DescribeToken(Cur())));
    }
  }
  auto e = std::make_unique<Expr>(ExprKind::kTuple, line);
  e->operands = std::move(items);
  return ExprPtr(std::move(e));
}

Result<ExprPtr> Parser::ParseExpression(bool with_condexpr) {
  Nest nest(this);
  LOOM_RETURN_IF_ERROR(nest.Check());
  if (!with_condexpr) return ParseOr();
  int line = Cur().line;
  LOOM_ASSIGN_OR_RETURN(ExprPtr expr1, ParseOr());
  while (SkipName("if")) {
    bool saved_soft = soft_;
    soft_ = true;
    auto c = std::make_unique<Expr>(ExprKind::kCondExpr, line);
    LOOM_ASSIGN_OR_RETURN(ExprPtr cond, ParseOr());
    ExprPtr expr3;
    if (SkipName("else")) {
      LOOM_ASSIGN_OR_RETURN(expr3, ParseExpression(true));
    }
    soft_ = saved_soft;
    c->operands.push_back(std::move(cond));
    c->operands.push_back(std::move(expr1));
    c->operands.push_back(std::move(expr3));
    expr1 = std::move(c);
  }
  return expr1;
}

ExprPtr Parser::MakeBin(ExprKind kind, std::string op, ExprPtr a, ExprPtr b, int line) {
  auto e = std::make_unique<Expr>(kind, line);
  e->name = std::move(op);
  e->operands.push_back(std::move(a));
  e->operands.push_back(std::move(b));
  return e;
}

Result<ExprPtr> Parser::ParseOr() {
  LOOM_ASSIGN_OR_RETURN(ExprPtr left, ParseAnd());
  while (IsName("or")) {
    int line = Next().line;
    LOOM_ASSIGN_OR_RETURN(ExprPtr right, ParseAnd());
    left = MakeBin(ExprKind::kOr, "or", std::move(left), std::move(right), line);
  }
  return left;
}

Result<ExprPtr> Parser::ParseAnd() {
  LOOM_ASSIGN_OR_RETURN(ExprPtr left, ParseNot());
  while (IsName("and")) {
    int line = Next().line;
    LOOM_ASSIGN_OR_RETURN(ExprPtr right, ParseNot());
    left = MakeBin(ExprKind::kAnd, "and", std::move(left), std::move(right), line);
  }
  return left;
}

Result<ExprPtr> Parser::ParseNot() {
  if (IsName("not")) {
    Nest nest(this);
    LOOM_RETURN_IF_ERROR(nest.Check());
    auto e = std::make_unique<Expr>(ExprKind::kNot, Next().line);
    LOOM_ASSIGN_OR_RETURN(ExprPtr operand, ParseNot());
    e->operands.push_back(std::move(operand));
    return ExprPtr(std::move(e));
  }
  return ParseCompare();
}

Result<ExprPtr> Parser::ParseCompare() {
  int line = Cur().line;
  LOOM_ASSIGN_OR_RETURN(ExprPtr first, ParseMath1());
  auto cmp = std::make_unique<Expr>(ExprKind::kCompare, line);
  cmp->operands.push_back(std::move(first));
  while (true) {
    std::string op;
    if (Cur().type == TokenType::kOperator &&
        (Cur().value == "==" || Cur().value == "!=" || Cur().value == "<" || Cur().value == "<=" ||
         Cur().value == ">" || Cur().value == ">=")) {
      op = Next().value;
    } else if (SkipName("in")) {
      op = "in";
    } else if (IsName("not") && Peek().type == TokenType::kName && Peek().value == "in") {
      Next();
      Next();
      op = "notin";
    } else {
      break;
    }
    LOOM_ASSIGN_OR_RETURN(ExprPtr rhs, ParseMath1());
    cmp->compare_ops.push_back(std::move(op));
    cmp->operands.push_back(std::move(rhs));
  }
  if (cmp->compare_ops.empty()) return std::move(cmp->operands[0]);
  return ExprPtr(std::move(cmp));
}

Result<ExprPtr> Parser::ParseMath1() {
  LOOM_ASSIGN_OR_RETURN(ExprPtr left, ParseConcat());
  while (IsOp("+") || IsOp("-")) {
    const Token& op = Next();
    LOOM_ASSIGN_OR_RETURN(ExprPtr right, ParseConcat());
    left = MakeBin(ExprKind::kBinary, op.value, std::move(left), std::move(right), op.line);
  }
  return left;
}

Result<ExprPtr> Parser::ParseConcat() {
  int line = Cur().line;
  LOOM_ASSIGN_OR_RETURN(ExprPtr first, ParseMath2());
  if (!IsOp("~")) return first;
  auto e = std::make_unique<Expr>(ExprKind::kConcat, line);
  e->operands.push_back(std::move(first));
  while (SkipOp("~")) {
    LOOM_ASSIGN_OR_RETURN(ExprPtr next, ParseMath2());
    e->operands.push_back(std::move(next));
  }
  return ExprPtr(std::move(e));
}

Result<ExprPtr> Parser::ParseMath2() {
  LOOM_ASSIGN_OR_RETURN(ExprPtr left, ParsePow());
  while (IsOp("*") || IsOp("/") || IsOp("//") || IsOp("%")) {
    const Token& op = Next();
    LOOM_ASSIGN_OR_RETURN(ExprPtr right, ParsePow());
    left = MakeBin(ExprKind::kBinary, op.value, std::move(left), std::move(right), op.line);
  }
  return left;
}

Result<ExprPtr> Parser::ParsePow() {
  LOOM_ASSIGN_OR_RETURN(ExprPtr left, ParseUnary(true));
  while (IsOp("**")) {
    const Token& op = Next();
    LOOM_ASSIGN_OR_RETURN(ExprPtr right, ParseUnary(true));
    left = MakeBin(ExprKind::kBinary, "**", std::move(left), std::move(right), op.line);
  }
  return left;
}

Result<ExprPtr> Parser::ParseUnary(bool with_filter) {
  Nest nest(this);
  LOOM_RETURN_IF_ERROR(nest.Check());
  ExprPtr node;
  if (IsOp("-") || IsOp("+")) {
    const Token& op = Next();
    auto e = std::make_unique<Expr>(op.value == "-" ? ExprKind::kNeg : ExprKind::kPos, op.line);
    LOOM_ASSIGN_OR_RETURN(ExprPtr operand, ParseUnary(false));
    e->operands.push_back(std::move(operand));
    node = std::move(e);
  } else {
    LOOM_ASSIGN_OR_RETURN(node, ParsePrimary());
  }
  LOOM_ASSIGN_OR_RETURN(node, ParsePostfix(std::move(node)));
  if (with_filter) {
    LOOM_ASSIGN_OR_RETURN(node, ParseFilterExpr(std::move(node)));
  }
  return node;
}

Result<ExprPtr> Parser::ParsePrimary() {
  Nest nest(this);
  LOOM_RETURN_IF_ERROR(nest.Check());
  const Token& tok = Cur();
  auto constant = [&](Value v) {
    auto e = std::make_unique<Expr>(ExprKind::kConst, tok.line);
    e->constant = std::move(v);
    return e;
  };
  switch (tok.type) {
    case TokenType::kName: {
      Next();
      const std::string& n = tok.value;
      if (n == "true" || n == "True") return ExprPtr(constant(Value::Bool(true)));
      if (n == "false" || n == "False") return ExprPtr(constant(Value::Bool(false)));
      if (n == "none" || n == "None") return ExprPtr(constant(Value::None()));
      auto e = std::make_unique<Expr>(ExprKind::kName, tok.line);
      e->name = n;
      return ExprPtr(std::move(e));
    }
    case TokenType::kString: {
      std::string s;
      while (Cur().type == TokenType::kString) s += Next().value;
      return ExprPtr(constant(Value::String(std::move(s))));
    }
    case TokenType::kInteger:
      Next();
      return ExprPtr(constant(Value::Int(tok.int_value)));
    case TokenType::kFloat:
      Next();
      return ExprPtr(constant(Value::Float(tok.float_value)));
    case TokenType::kOperator:
      if (tok.value == "(") {
        Next();
        LOOM_ASSIGN_OR_RETURN(ExprPtr inner, ParseTuple(false, true, {}, true));
        LOOM_RETURN_IF_ERROR(ExpectOp(")"));
        return inner;
      }
      if (tok.value == "[") return ParseListOrDict(true);
      if (tok.value == "{") return ParseListOrDict(false);
      break;
    default:
      break;
  }
  return SyntaxError(tok.line, fmt::format("unexpected '{}'", DescribeToken(tok)));
}

Result<ExprPtr> Parser::ParseListOrDict(bool is_list) {
  int line = Next().line;
  auto e = std::make_unique<Expr>(is_list ? ExprKind::kList : ExprKind::kDict, line);
  std::string_view close = is_list ? "]" : "}";
  while (!IsOp(close)) {
    if (!e->operands.empty()) LOOM_RETURN_IF_ERROR(ExpectOp(","));
    if (IsOp(close)) break;
    LOOM_ASSIGN_OR_RETURN(ExprPtr item, ParseExpression(true));
    e->operands.push_back(std::move(item));
    if (!is_list) {
      LOOM_RETURN_IF_ERROR(ExpectOp(":"));
      LOOM_ASSIGN_OR_RETURN(ExprPtr value, ParseExpression(true));
      e->operands.push_back(std::move(value));
    }
  }
  LOOM_RETURN_IF_ERROR(ExpectOp(close));
  return ExprPtr(std::move(e));
}

Result<ExprPtr> Parser::ParsePostfix(ExprPtr node) {
  while (true) {
    if (IsOp(".") || IsOp("[")) {
      LOOM_ASSIGN_OR_RETURN(node, ParseSubscript(std::move(node)));
    } else if (IsOp("(")) {
      LOOM_ASSIGN_OR_RETURN(node, ParseCall(std::move(node)));
    } else {
      return node;
    }
  }
}

Result<ExprPtr> Parser::ParseFilterExpr(ExprPtr node) {
  while (true) {
    if (IsOp("|")) {
      LOOM_ASSIGN_OR_RETURN(node, ParseFilter(std::move(node), false));
    } else if (IsName("is")) {
      LOOM_ASSIGN_OR_RETURN(node, ParseTest(std::move(node)));
    } else if (IsOp("(")) {
      LOOM_ASSIGN_OR_RETURN(node, ParseCall(std::move(node)));
    } else {
      return node;
    }
  }
}

Result<ExprPtr> Parser::ParseSubscript(ExprPtr node) {
  const Token& tok = Next();
  if (tok.value == ".") {
    const Token& attr = Next();
    if (attr.type == TokenType::kName) {
      auto e = std::make_unique<Expr>(ExprKind::kGetattr, tok.line);
      e->name = attr.value;
      e->operands.push_back(std::move(node));
      return ExprPtr(std::move(e));
    }
    if (attr.type != TokenType::kInteger) return SyntaxError(attr.line, "expected name or number");
    auto key = std::make_unique<Expr>(ExprKind::kConst, attr.line);
    key->constant = Value::Int(attr.int_value);
    auto e = std::make_unique<Expr>(ExprKind::kGetitem, tok.line);
    e->operands.push_back(std::move(node));
    e->operands.push_back(std::move(key));
    return ExprPtr(std::move(e));
  }
  std::vector<ExprPtr> args;
  while (!IsOp("]")) {
    if (!args.empty()) LOOM_RETURN_IF_ERROR(ExpectOp(","));
    LOOM_ASSIGN_OR_RETURN(ExprPtr a, ParseSubscribed());
    args.push_back(std::move(a));
  }
  LOOM_RETURN_IF_ERROR(ExpectOp("]"));
  auto e = std::make_unique<Expr>(ExprKind::kGetitem, tok.line);
  e->operands.push_back(std::move(node));
  if (args.size() == 1) {
    e->operands.push_back(std::move(args[0]));
  } else {
    auto t = std::make_unique<Expr>(ExprKind::kTuple, tok.line);
    t->operands = std::move(args);
    e->operands.push_back(std::move(t));
  }
  return ExprPtr(std::move(e));
}

Result<ExprPtr> Parser::ParseSubscribed() {
  int line = Cur().line;
  std::vector<ExprPtr> parts;
  if (SkipOp(":")) {
    parts.push_back(nullptr);
  } else {
    LOOM_ASSIGN_OR_RETURN(ExprPtr first, ParseExpression(true));
    if (!SkipOp(":")) return first;
    parts.push_back(std::move(first));
  }
  auto optional_expr = [&]() -> Result<ExprPtr> {
    if (IsOp("]") || IsOp(",") || IsOp(":")) return ExprPtr();
    return ParseExpression(true);
  };
  LOOM_ASSIGN_OR_RETURN(ExprPtr stop, optional_expr());
  parts.push_back(std::move(stop));
  ExprPtr step;
  if (SkipOp(":")) {
    LOOM_ASSIGN_OR_RETURN(step, optional_expr());
  }
  parts.push_back(std::move(step));
  auto e = std::make_unique<Expr>(ExprKind::kSlice, line);
  e->operands = std::move(parts);
  return ExprPtr(std::move(e));
}

Status Parser::ParseCallArgs(Expr& e) {
  int line = Cur().line;
  LOOM_RETURN_IF_ERROR(ExpectOp("("));
  bool require_comma = false;
  while (!IsOp(")")) {
    if (require_comma) {
      LOOM_RETURN_IF_ERROR(ExpectOp(","));
      if (IsOp(")")) break;
    }
    auto invalid = [&] { return SyntaxError(line, "invalid syntax for function call expression"); };
    if (SkipOp("*")) {
      if (e.dyn_args || e.dyn_kwargs) return invalid();
      LOOM_ASSIGN_OR_RETURN(e.dyn_args, ParseExpression(true));
    } else if (SkipOp("**")) {
      if (e.dyn_kwargs) return invalid();
      LOOM_ASSIGN_OR_RETURN(e.dyn_kwargs, ParseExpression(true));
    } else if (Cur().type == TokenType::kName && Peek().type == TokenType::kOperator &&
               Peek().value == "=") {
      if (e.dyn_kwargs) return invalid();
      std::string key = Next().value;
      Next();
      LOOM_ASSIGN_OR_RETURN(ExprPtr v, ParseExpression(true));
      e.kwargs.emplace_back(std::move(key), std::move(v));
    } else {
      if (e.dyn_args || e.dyn_kwargs || !e.kwargs.empty()) return invalid();
      LOOM_ASSIGN_OR_RETURN(ExprPtr v, ParseExpression(true));
      e.args.push_back(std::move(v));
    }
    require_comma = true;
  }
  return ExpectOp(")");
}

Result<ExprPtr> Parser::ParseCall(ExprPtr node) {
  auto e = std::make_unique<Expr>(ExprKind::kCall, Cur().line);
  e->operands.push_back(std::move(node));
  LOOM_RETURN_IF_ERROR(ParseCallArgs(*e));
  return ExprPtr(std::move(e));
}

Result<std::string> Parser::ParseDottedName() {
  LOOM_ASSIGN_OR_RETURN(std::string name, ExpectName());
  while (SkipOp(".")) {
    LOOM_ASSIGN_OR_RETURN(std::string part, ExpectName());
    name += "." + part;
  }
  return name;
}

// A filter chain; node is null for filter blocks and `set x | f` blocks.
Result<ExprPtr> Parser::ParseFilter(ExprPtr node, bool start_inline) {
  while (IsOp("|") || start_inline) {
    if (!start_inline) Next();
    start_inline = false;
    int line = Cur().line;
    LOOM_ASSIGN_OR_RETURN(std::string name, ParseDottedName());
    if (!soft_ && !FilterExists(name)) {
      return SyntaxError(line, fmt::format("No filter named '{}'.", name));
    }
    auto e = std::make_unique<Expr>(ExprKind::kFilter, line);
    e->name = std::move(name);
    e->operands.push_back(std::move(node));
    if (IsOp("(")) LOOM_RETURN_IF_ERROR(ParseCallArgs(*e));
    node = std::move(e);
  }
  return node;
}

Result<ExprPtr> Parser::ParseTest(ExprPtr node) {
  int line = Next().line;  // "is"
  bool negated = SkipName("not");
  LOOM_ASSIGN_OR_RETURN(std::string name, ParseDottedName());
  if (!soft_ && !TestExists(name)) {
    return SyntaxError(line, fmt::format("No test named '{}'.", name));
  }
  auto e = std::make_unique<Expr>(ExprKind::kTest, line);
  e->name = std::move(name);
  e->operands.push_back(std::move(node));
  if (IsOp("(")) {
    LOOM_RETURN_IF_ERROR(ParseCallArgs(*e));
  } else if ((Cur().type == TokenType::kName || Cur().type == TokenType::kString ||
              Cur().type == TokenType::kInteger || Cur().type == TokenType::kFloat || IsOp("(") ||
              IsOp("[") || IsOp("{")) &&
             !IsName("else") && !IsName("or") && !IsName("and")) {
    if (IsName("is")) return SyntaxError(Cur().line, "You cannot chain multiple tests with is");
    LOOM_ASSIGN_OR_RETURN(ExprPtr arg, ParsePrimary());
    LOOM_ASSIGN_OR_RETURN(arg, ParsePostfix(std::move(arg)));
    e->args.push_back(std::move(arg));
  }
  if (!negated) return ExprPtr(std::move(e));
  auto n = std::make_unique<Expr>(ExprKind::kNot, line);
  n->operands.push_back(std::move(e));
  return ExprPtr(std::move(n));
}

}  // namespace loom::jinja
