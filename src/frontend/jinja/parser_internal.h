// The parser's class, shared by parser.cc (statements) and parser_expr.cc (expressions).
// Internal to the jinja library.
#pragma once

#include <fmt/core.h>

#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

#include "frontend/jinja/ast.h"
#include "frontend/jinja/lexer.h"
#include "frontend/jinja/parser.h"

namespace loom::jinja {

// How jinja2 names a token in "expected ..., got ..." messages.
std::string DescribeToken(const Token& t);

class Parser {
 public:
  explicit Parser(const std::vector<Token>& tokens) : t_(tokens) {}

  Result<StmtList> Run();

 private:
  // RAII nesting counter; every recursive production takes one.
  class Nest {
   public:
    explicit Nest(Parser* p) : p_(p) { ++p_->depth_; }
    ~Nest() { --p_->depth_; }
    Status Check() const {
      if (p_->depth_ > kMaxNesting) {
        return SyntaxError(p_->Cur().line, "template is nested too deeply");
      }
      return Status::Ok();
    }

   private:
    Parser* p_;
  };

  // Saves and sets the parse-context flags for a nested body (jinja2's Frame.inner / soft).
  struct FrameFlags {
    bool soft;
    bool in_loop;
  };
  FrameFlags Enter(bool soft, bool in_loop) {
    FrameFlags saved{soft_, in_loop_};
    soft_ = soft;
    in_loop_ = in_loop;
    return saved;
  }
  void Leave(FrameFlags f) {
    soft_ = f.soft;
    in_loop_ = f.in_loop;
  }

  const Token& Cur() const { return t_[pos_]; }
  const Token& Peek(size_t n = 1) const { return pos_ + n < t_.size() ? t_[pos_ + n] : t_.back(); }
  const Token& Next() {
    const Token& t = t_[pos_];
    if (pos_ + 1 < t_.size()) ++pos_;
    return t;
  }
  bool IsOp(std::string_view op) const {
    return Cur().type == TokenType::kOperator && Cur().value == op;
  }
  bool IsName(std::string_view name) const {
    return Cur().type == TokenType::kName && Cur().value == name;
  }
  bool SkipOp(std::string_view op) {
    if (!IsOp(op)) return false;
    Next();
    return true;
  }
  bool SkipName(std::string_view name) {
    if (!IsName(name)) return false;
    Next();
    return true;
  }
  Status Unexpected(std::string_view expected) const {
    return SyntaxError(
        Cur().line, fmt::format("expected token '{}', got '{}'", expected, DescribeToken(Cur())));
  }
  Status ExpectOp(std::string_view op) {
    if (!SkipOp(op)) return Unexpected(op);
    return Status::Ok();
  }
  Status ExpectType(TokenType type, std::string_view what) {
    if (Cur().type != type) return Unexpected(what);
    Next();
    return Status::Ok();
  }
  Result<std::string> ExpectName() {
    if (Cur().type != TokenType::kName) return Unexpected("name");
    return Next().value;
  }

  // Statements (parser.cc).
  Result<StmtList> Subparse(std::initializer_list<std::string_view> end_tokens);
  // Body up to one of end_tokens; leaves that end name current (drop_needle consumes it).
  Result<StmtList> ParseBody(std::initializer_list<std::string_view> end_tokens, bool drop_needle);
  Result<StmtPtr> ParseStatement();
  Result<StmtPtr> ParseIf();
  Result<StmtPtr> ParseFor();
  Result<StmtPtr> ParseSet();
  Status ParseSignature(Signature& sig);
  Result<StmtPtr> ParseMacro();
  Result<StmtPtr> ParseCallBlock();
  Result<StmtPtr> ParseGeneration();
  Result<StmtPtr> ParseFilterBlock();
  Result<StmtPtr> ParseWith();
  Result<StmtPtr> ParsePrint();
  Result<Target> ParseTargetAtom(std::initializer_list<std::string_view> extra_end);
  // Comma-separated targets; a single target without a comma is returned as itself.
  Result<Target> ParseTargetList(std::initializer_list<std::string_view> extra_end,
                                 bool parenthesized);
  Result<Target> ParseAssignTarget(bool with_tuple, bool with_namespace,
                                   std::initializer_list<std::string_view> extra_end);
  // Marks which of varargs/kwargs/caller a macro body refers to.
  static void ScanExpr(const Expr* e, Signature& sig);
  static void ScanSpecialNames(const StmtList& body, Signature& sig);

  // Expressions (parser_expr.cc), one method per jinja2 precedence level.
  bool IsTupleEnd(std::initializer_list<std::string_view> extra_end) const;
  Result<ExprPtr> ParseTuple(bool simplified, bool with_condexpr,
                             std::initializer_list<std::string_view> extra_end,
                             bool explicit_parens);
  Result<ExprPtr> ParseExpression(bool with_condexpr);
  static ExprPtr MakeBin(ExprKind kind, std::string op, ExprPtr a, ExprPtr b, int line);
  Result<ExprPtr> ParseOr();
  Result<ExprPtr> ParseAnd();
  Result<ExprPtr> ParseNot();
  Result<ExprPtr> ParseCompare();
  Result<ExprPtr> ParseMath1();
  Result<ExprPtr> ParseConcat();
  Result<ExprPtr> ParseMath2();
  Result<ExprPtr> ParsePow();
  Result<ExprPtr> ParseUnary(bool with_filter);
  Result<ExprPtr> ParsePrimary();
  Result<ExprPtr> ParseListOrDict(bool is_list);
  Result<ExprPtr> ParsePostfix(ExprPtr node);
  Result<ExprPtr> ParseFilterExpr(ExprPtr node);
  Result<ExprPtr> ParseSubscript(ExprPtr node);
  Result<ExprPtr> ParseSubscribed();
  Status ParseCallArgs(Expr& e);
  Result<ExprPtr> ParseCall(ExprPtr node);
  Result<std::string> ParseDottedName();
  // A filter chain; node is null for filter blocks and `set x | f` blocks.
  Result<ExprPtr> ParseFilter(ExprPtr node, bool start_inline);
  Result<ExprPtr> ParseTest(ExprPtr node);

  const std::vector<Token>& t_;
  size_t pos_ = 0;
  int depth_ = 0;
  // Inside an if or conditional expression: unknown filters/tests fail only when evaluated.
  bool soft_ = false;
  // Inside a for body (break/continue allowed).
  bool in_loop_ = false;
};

}  // namespace loom::jinja
