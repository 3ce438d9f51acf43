// Syntax tree of a parsed template. Node kinds mirror jinja2.nodes so behaviour can be checked
// against jinja2's compiler node by node.
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "frontend/jinja/value.h"

namespace loom::jinja {

struct Expr;
struct Stmt;
using ExprPtr = std::unique_ptr<Expr>;
using StmtPtr = std::unique_ptr<Stmt>;
using StmtList = std::vector<StmtPtr>;

enum class ExprKind {
  kConst,     // constant
  kName,      // name
  kGetattr,   // operands[0].name
  kGetitem,   // operands[0][operands[1]]
  kSlice,     // operands: start, stop, step (null when omitted); only as a Getitem key
  kCall,      // operands[0](args...)
  kFilter,    // operands[0]|name(args...); operands[0] is null inside a filter block
  kTest,      // operands[0] is name(args...)
  kNeg,       // -operands[0]
  kPos,       // +operands[0]
  kNot,       // not operands[0]
  kBinary,    // operands[0] op operands[1]; op in + - * / // % **
  kAnd,       // operands[0] and operands[1]
  kOr,        // operands[0] or operands[1]
  kCompare,   // operands[0] compare_ops[0] operands[1] compare_ops[1] operands[2] ...
  kConcat,    // operands joined with ~
  kCondExpr,  // operands[1] if operands[0] else operands[2] (null: undefined)
  kList,      // [operands...]
  kTuple,     // (operands...)
  kDict,      // {operands[0]: operands[1], ...}
};

struct Expr {
  ExprKind kind;
  int line = 0;
  Value constant;    // kConst
  std::string name;  // kName, kGetattr attribute, kFilter/kTest name, kBinary operator
  std::vector<ExprPtr> operands;
  std::vector<std::string> compare_ops;  // kCompare: == != < <= > >= in notin
  // kCall/kFilter/kTest arguments.
  std::vector<ExprPtr> args;
  std::vector<std::pair<std::string, ExprPtr>> kwargs;
  ExprPtr dyn_args;    // *args
  ExprPtr dyn_kwargs;  // **kwargs

  Expr(ExprKind k, int l) : kind(k), line(l) {}
};

// Assignment target: a name, a namespace attribute (ns.attr), or a tuple of targets.
struct Target {
  enum class Kind { kName, kNamespaceAttr, kTuple };
  Kind kind = Kind::kName;
  std::string name;
  std::string attr;           // kNamespaceAttr
  std::vector<Target> items;  // kTuple
};

// Parameters of a macro or call block.
struct Signature {
  std::vector<std::string> params;
  std::vector<ExprPtr> defaults;  // for the last defaults.size() params
  // Whether the body mentions varargs / kwargs / caller; jinja2 only accepts extra positional
  // or keyword arguments (and a caller) when it does.
  bool uses_varargs = false;
  bool uses_kwargs = false;
  bool uses_caller = false;
};

enum class StmtKind {
  kData,       // text
  kOutput,     // {{ expr }} / {% print %}: exprs
  kIf,         // tests[i] -> bodies[i]; else_body
  kFor,        // for target in expr [if filter] [recursive]: body else else_body
  kSet,        // set target = expr
  kSetBlock,   // set target [| filter] %}body{% endset
  kMacro,      // macro name(signature) body
  kCallBlock,  // call(signature) expr %}body{% endcall; also {% generation %}
  kFilterBlock,
  kWith,  // with targets = values: body
  kBreak,
  kContinue,
};

struct Stmt {
  StmtKind kind;
  int line = 0;
  std::string text;              // kData
  std::string name;              // kMacro
  std::vector<ExprPtr> exprs;    // kOutput; kIf tests; kWith values
  ExprPtr expr;                  // kFor iterable, kSet value, kCallBlock call, filter chains
  ExprPtr condition;             // kFor inline if
  Target target;                 // kFor, kSet, kSetBlock
  std::vector<Target> targets;   // kWith
  bool recursive = false;        // kFor
  std::vector<StmtList> bodies;  // kIf branches
  StmtList body;
  StmtList else_body;
  std::shared_ptr<Signature> signature;  // kMacro, kCallBlock

  Stmt(StmtKind k, int l) : kind(k), line(l) {}
};

}  // namespace loom::jinja
