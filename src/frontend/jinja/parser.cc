// Statement-level parsing: template structure, tags and assignment targets.
#include <fmt/core.h>

#include "frontend/jinja/parser_internal.h"

namespace loom::jinja {

std::string DescribeToken(const Token& t) {
  switch (t.type) {
    case TokenType::kData:
      return "template data";
    case TokenType::kVariableBegin:
      return "begin of print statement";
    case TokenType::kVariableEnd:
      return "end of print statement";
    case TokenType::kBlockBegin:
      return "begin of statement block";
    case TokenType::kBlockEnd:
      return "end of statement block";
    case TokenType::kEof:
      return "end of template";
    case TokenType::kInteger:
    case TokenType::kFloat:
      return "number";
    default:
      return t.value;
  }
}

Result<StmtList> ParseTemplate(const std::vector<Token>& tokens) { return Parser(tokens).Run(); }

Result<StmtList> Parser::Run() {
  LOOM_ASSIGN_OR_RETURN(StmtList body, Subparse({}));
  if (Cur().type != TokenType::kEof) {
    return SyntaxError(Cur().line, fmt::format("Encountered unknown tag '{}'.", Cur().value));
  }
  return body;
}

Result<StmtList> Parser::Subparse(std::initializer_list<std::string_view> end_tokens) {
  StmtList body;
  while (true) {
    const Token& tok = Cur();
    if (tok.type == TokenType::kEof) return body;
    if (tok.type == TokenType::kData) {
      auto s = std::make_unique<Stmt>(StmtKind::kData, tok.line);
      s->text = tok.value;
      body.push_back(std::move(s));
      Next();
    } else if (tok.type == TokenType::kVariableBegin) {
      Next();
      auto s = std::make_unique<Stmt>(StmtKind::kOutput, tok.line);
      LOOM_ASSIGN_OR_RETURN(ExprPtr e, ParseTuple(false, true, {}, false));
      s->exprs.push_back(std::move(e));
      LOOM_RETURN_IF_ERROR(ExpectType(TokenType::kVariableEnd, "end of print statement"));
      body.push_back(std::move(s));
    } else if (tok.type == TokenType::kBlockBegin) {
      const Token& name = Peek();
      if (name.type == TokenType::kName) {
        for (std::string_view end : end_tokens) {
          if (name.value == end) {
            Next();  // leave the end tag name as the current token
            return body;
          }
        }
      }
      Next();
      Nest nest(this);
      LOOM_RETURN_IF_ERROR(nest.Check());
      LOOM_ASSIGN_OR_RETURN(StmtPtr s, ParseStatement());
      body.push_back(std::move(s));
      LOOM_RETURN_IF_ERROR(ExpectType(TokenType::kBlockEnd, "end of statement block"));
    } else {
      return SyntaxError(tok.line, fmt::format("unexpected '{}'", DescribeToken(tok)));
    }
  }
}

// Body up to one of end_tokens; leaves that end name current (drop_needle consumes it).
Result<StmtList> Parser::ParseBody(std::initializer_list<std::string_view> end_tokens,
                                   bool drop_needle) {
  SkipOp(":");
  LOOM_RETURN_IF_ERROR(ExpectType(TokenType::kBlockEnd, "end of statement block"));
  LOOM_ASSIGN_OR_RETURN(StmtList body, Subparse(end_tokens));
  if (Cur().type == TokenType::kEof) {
    std::string names;
    for (std::string_view e : end_tokens) {
      names += names.empty() ? "" : " or ";
      names += fmt::format("'{}'", e);
    }
    return SyntaxError(Cur().line, fmt::format("Unexpected end of template. Jinja was looking "
                                               "for the following tags: {}.",
                                               names));
  }
  if (drop_needle) Next();
  return body;
}

Result<StmtPtr> Parser::ParseStatement() {
  const Token& tok = Cur();
  if (tok.type != TokenType::kName) return SyntaxError(tok.line, "tag name expected");
  const std::string& n = tok.value;
  if (n == "if") return ParseIf();
  if (n == "for") return ParseFor();
  if (n == "set") return ParseSet();
  if (n == "macro") return ParseMacro();
  if (n == "call") return ParseCallBlock();
  if (n == "filter") return ParseFilterBlock();
  if (n == "with") return ParseWith();
  if (n == "print") return ParsePrint();
  if (n == "generation") return ParseGeneration();
  if (n == "break" || n == "continue") {
    if (!in_loop_) return SyntaxError(tok.line, fmt::format("'{}' outside loop", n));
    Next();
    return std::make_unique<Stmt>(n == "break" ? StmtKind::kBreak : StmtKind::kContinue, tok.line);
  }
  if (n == "block" || n == "extends" || n == "include" || n == "import" || n == "from" ||
      n == "autoescape") {
    return SyntaxError(tok.line, fmt::format("the '{}' tag is not supported in chat templates "
                                             "(no template loader)",
                                             n));
  }
  return SyntaxError(tok.line, fmt::format("Encountered unknown tag '{}'.", n));
}

Result<StmtPtr> Parser::ParseIf() {
  auto s = std::make_unique<Stmt>(StmtKind::kIf, Next().line);
  FrameFlags saved = Enter(true, in_loop_);
  while (true) {
    LOOM_ASSIGN_OR_RETURN(ExprPtr test, ParseTuple(false, false, {}, false));
    s->exprs.push_back(std::move(test));
    LOOM_ASSIGN_OR_RETURN(StmtList body, ParseBody({"elif", "else", "endif"}, false));
    s->bodies.push_back(std::move(body));
    std::string end = Next().value;
    if (end == "elif") continue;
    if (end == "else") {
      LOOM_ASSIGN_OR_RETURN(s->else_body, ParseBody({"endif"}, true));
    }
    break;
  }
  Leave(saved);
  return StmtPtr(std::move(s));
}

Result<StmtPtr> Parser::ParseFor() {
  auto s = std::make_unique<Stmt>(StmtKind::kFor, Next().line);
  LOOM_ASSIGN_OR_RETURN(s->target, ParseAssignTarget(true, false, {"in"}));
  if (!SkipName("in")) return Unexpected("in");
  LOOM_ASSIGN_OR_RETURN(s->expr, ParseTuple(false, false, {"recursive"}, false));
  FrameFlags saved = Enter(false, true);
  if (SkipName("if")) {
    LOOM_ASSIGN_OR_RETURN(s->condition, ParseExpression(true));
  }
  s->recursive = SkipName("recursive");
  LOOM_ASSIGN_OR_RETURN(s->body, ParseBody({"endfor", "else"}, false));
  Leave(saved);
  if (Next().value == "else") {
    LOOM_ASSIGN_OR_RETURN(s->else_body, ParseBody({"endfor"}, true));
  }
  return StmtPtr(std::move(s));
}

Result<StmtPtr> Parser::ParseSet() {
  int line = Next().line;
  LOOM_ASSIGN_OR_RETURN(Target target, ParseAssignTarget(true, true, {}));
  if (SkipOp("=")) {
    auto s = std::make_unique<Stmt>(StmtKind::kSet, line);
    s->target = std::move(target);
    LOOM_ASSIGN_OR_RETURN(s->expr, ParseTuple(false, true, {}, false));
    return StmtPtr(std::move(s));
  }
  auto s = std::make_unique<Stmt>(StmtKind::kSetBlock, line);
  s->target = std::move(target);
  if (IsOp("|")) {
    LOOM_ASSIGN_OR_RETURN(s->expr, ParseFilter(nullptr, false));
  }
  FrameFlags saved = Enter(false, in_loop_);
  LOOM_ASSIGN_OR_RETURN(s->body, ParseBody({"endset"}, true));
  Leave(saved);
  return StmtPtr(std::move(s));
}

Status Parser::ParseSignature(Signature& sig) {
  LOOM_RETURN_IF_ERROR(ExpectOp("("));
  while (!IsOp(")")) {
    if (!sig.params.empty()) LOOM_RETURN_IF_ERROR(ExpectOp(","));
    LOOM_ASSIGN_OR_RETURN(std::string name, ExpectName());
    if (SkipOp("=")) {
      LOOM_ASSIGN_OR_RETURN(ExprPtr d, ParseExpression(true));
      sig.defaults.push_back(std::move(d));
    } else if (!sig.defaults.empty()) {
      return SyntaxError(Cur().line, "non-default argument follows default argument");
    }
    sig.params.push_back(std::move(name));
  }
  return ExpectOp(")");
}

Result<StmtPtr> Parser::ParseMacro() {
  auto s = std::make_unique<Stmt>(StmtKind::kMacro, Next().line);
  LOOM_ASSIGN_OR_RETURN(s->name, ExpectName());
  s->signature = std::make_shared<Signature>();
  LOOM_RETURN_IF_ERROR(ParseSignature(*s->signature));
  FrameFlags saved = Enter(false, false);
  LOOM_ASSIGN_OR_RETURN(s->body, ParseBody({"endmacro"}, true));
  Leave(saved);
  ScanSpecialNames(s->body, *s->signature);
  return StmtPtr(std::move(s));
}

Result<StmtPtr> Parser::ParseCallBlock() {
  auto s = std::make_unique<Stmt>(StmtKind::kCallBlock, Next().line);
  s->signature = std::make_shared<Signature>();
  if (IsOp("(")) LOOM_RETURN_IF_ERROR(ParseSignature(*s->signature));
  LOOM_ASSIGN_OR_RETURN(s->expr, ParseExpression(true));
  if (s->expr->kind != ExprKind::kCall) return SyntaxError(s->line, "expected call");
  FrameFlags saved = Enter(false, false);
  LOOM_ASSIGN_OR_RETURN(s->body, ParseBody({"endcall"}, true));
  Leave(saved);
  ScanSpecialNames(s->body, *s->signature);
  return StmtPtr(std::move(s));
}

// transformers' AssistantTracker: {% generation %}body{% endgeneration %} is a call block
// whose callee just returns caller().
Result<StmtPtr> Parser::ParseGeneration() {
  auto s = std::make_unique<Stmt>(StmtKind::kCallBlock, Next().line);
  s->signature = std::make_shared<Signature>();
  FrameFlags saved = Enter(false, false);
  LOOM_ASSIGN_OR_RETURN(s->body, ParseBody({"endgeneration"}, true));
  Leave(saved);
  return StmtPtr(std::move(s));
}

Result<StmtPtr> Parser::ParseFilterBlock() {
  auto s = std::make_unique<Stmt>(StmtKind::kFilterBlock, Next().line);
  LOOM_ASSIGN_OR_RETURN(s->expr, ParseFilter(nullptr, true));
  FrameFlags saved = Enter(false, in_loop_);
  LOOM_ASSIGN_OR_RETURN(s->body, ParseBody({"endfilter"}, true));
  Leave(saved);
  return StmtPtr(std::move(s));
}

Result<StmtPtr> Parser::ParseWith() {
  auto s = std::make_unique<Stmt>(StmtKind::kWith, Next().line);
  while (Cur().type != TokenType::kBlockEnd) {
    if (!s->targets.empty()) LOOM_RETURN_IF_ERROR(ExpectOp(","));
    LOOM_ASSIGN_OR_RETURN(Target t, ParseAssignTarget(true, false, {}));
    s->targets.push_back(std::move(t));
    LOOM_RETURN_IF_ERROR(ExpectOp("="));
    LOOM_ASSIGN_OR_RETURN(ExprPtr v, ParseExpression(true));
    s->exprs.push_back(std::move(v));
  }
  FrameFlags saved = Enter(false, in_loop_);
  LOOM_ASSIGN_OR_RETURN(s->body, ParseBody({"endwith"}, true));
  Leave(saved);
  return StmtPtr(std::move(s));
}

Result<StmtPtr> Parser::ParsePrint() {
  auto s = std::make_unique<Stmt>(StmtKind::kOutput, Next().line);
  while (Cur().type != TokenType::kBlockEnd) {
    if (!s->exprs.empty()) LOOM_RETURN_IF_ERROR(ExpectOp(","));
    LOOM_ASSIGN_OR_RETURN(ExprPtr e, ParseExpression(true));
    s->exprs.push_back(std::move(e));
  }
  return StmtPtr(std::move(s));
}

Result<Target> Parser::ParseTargetAtom(std::initializer_list<std::string_view> extra_end) {
  Target t;
  if (SkipOp("(")) {
    LOOM_ASSIGN_OR_RETURN(t, ParseTargetList({}, true));
    LOOM_RETURN_IF_ERROR(ExpectOp(")"));
    return t;
  }
  if (Cur().type != TokenType::kName) {
    return SyntaxError(Cur().line, fmt::format("can't assign to '{}'", DescribeToken(Cur())));
  }
  const std::string& n = Cur().value;
  if (n == "true" || n == "false" || n == "none" || n == "True" || n == "False" || n == "None") {
    return SyntaxError(Cur().line, "can't assign to 'const'");
  }
  t.name = Next().value;
  return t;
}

// Comma-separated targets; a single target without a comma is returned as itself.
Result<Target> Parser::ParseTargetList(std::initializer_list<std::string_view> extra_end,
                                       bool parenthesized) {
  Target tuple;
  tuple.kind = Target::Kind::kTuple;
  bool is_tuple = false;
  while (true) {
    if (!tuple.items.empty()) LOOM_RETURN_IF_ERROR(ExpectOp(","));
    if (IsTupleEnd(extra_end)) break;
    LOOM_ASSIGN_OR_RETURN(Target item, ParseTargetAtom(extra_end));
    tuple.items.push_back(std::move(item));
    if (!IsOp(",")) break;
    is_tuple = true;
  }
  if (!is_tuple) {
    if (tuple.items.empty()) {
      if (parenthesized) return tuple;
      return SyntaxError(Cur().line, "Expected an expression");
    }
    return std::move(tuple.items[0]);
  }
  return tuple;
}

Result<Target> Parser::ParseAssignTarget(bool with_tuple, bool with_namespace,
                                         std::initializer_list<std::string_view> extra_end) {
  if (with_namespace && Cur().type == TokenType::kName && Peek().type == TokenType::kOperator &&
      Peek().value == ".") {
    Target t;
    t.kind = Target::Kind::kNamespaceAttr;
    t.name = Next().value;
    Next();
    LOOM_ASSIGN_OR_RETURN(t.attr, ExpectName());
    return t;
  }
  if (!with_tuple) return ParseTargetAtom(extra_end);
  return ParseTargetList(extra_end, false);
}

// Marks which of varargs/kwargs/caller a macro body refers to.
void Parser::ScanExpr(const Expr* e, Signature& sig) {
  if (e == nullptr) return;
  if (e->kind == ExprKind::kName) {
    sig.uses_varargs |= e->name == "varargs";
    sig.uses_kwargs |= e->name == "kwargs";
    sig.uses_caller |= e->name == "caller";
  }
  for (const auto& o : e->operands) ScanExpr(o.get(), sig);
  for (const auto& a : e->args) ScanExpr(a.get(), sig);
  for (const auto& [k, v] : e->kwargs) ScanExpr(v.get(), sig);
  ScanExpr(e->dyn_args.get(), sig);
  ScanExpr(e->dyn_kwargs.get(), sig);
}
void Parser::ScanSpecialNames(const StmtList& body, Signature& sig) {
  for (const auto& s : body) {
    for (const auto& e : s->exprs) ScanExpr(e.get(), sig);
    ScanExpr(s->expr.get(), sig);
    ScanExpr(s->condition.get(), sig);
    ScanSpecialNames(s->body, sig);
    ScanSpecialNames(s->else_body, sig);
    for (const auto& b : s->bodies) ScanSpecialNames(b, sig);
    if (s->signature) {
      for (const auto& d : s->signature->defaults) ScanExpr(d.get(), sig);
    }
  }
}

}  // namespace loom::jinja
