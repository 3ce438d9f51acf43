#include "frontend/jinja/template.h"

#include <exception>
#include <mutex>

#include "frontend/jinja/ast.h"
#include "frontend/jinja/interpreter.h"
#include "frontend/jinja/lexer.h"
#include "frontend/jinja/parser.h"
#include "frontend/jinja/value_json.h"

namespace loom::jinja {
namespace {

std::mutex g_now_mu;
std::optional<std::time_t> g_now;

std::optional<std::time_t> NowOverride() {
  std::lock_guard<std::mutex> lock(g_now_mu);
  return g_now;
}

}  // namespace

struct Template::Body {
  StmtList stmts;
};

void SetNowForTesting(std::optional<std::time_t> t) {
  std::lock_guard<std::mutex> lock(g_now_mu);
  g_now = t;
}

Result<Template> Template::Parse(std::string_view source) {
  // The interpreter reports errors as values; an allocation failure is the only exception that
  // can surface from the standard library here, and it must not cross the library boundary.
  try {
    LOOM_ASSIGN_OR_RETURN(std::vector<Token> tokens, Tokenize(source));
    auto body = std::make_shared<Body>();
    LOOM_ASSIGN_OR_RETURN(body->stmts, ParseTemplate(tokens));
    return Template(std::move(body));
  } catch (const std::exception& e) {
    return Internal("template parse failed: {}", e.what());
  }
}

Result<std::string> Template::Render(const nlohmann::ordered_json& context,
                                     const RenderLimits& limits) const {
  try {
    LOOM_ASSIGN_OR_RETURN(Value ctx, FromJson(context));
    if (!ctx.is_dict()) return InvalidArgument("template context must be a JSON object");
    Interpreter interpreter(limits, NowOverride());
    return interpreter.Render(body_->stmts, ctx);
  } catch (const std::exception& e) {
    return Internal("template render failed: {}", e.what());
  }
}

}  // namespace loom::jinja
