// A Jinja2 interpreter for Hugging Face chat templates, rendering byte-identically to
// transformers' apply_chat_template: ImmutableSandboxedEnvironment(trim_blocks=True,
// lstrip_blocks=True) with the loopcontrols extension, the {% generation %} tag, transformers'
// tojson override, and the raise_exception / strftime_now globals.
//
//   LOOM_ASSIGN_OR_RETURN(auto tmpl, jinja::Template::Parse(source));
//   LOOM_ASSIGN_OR_RETURN(std::string prompt, tmpl.Render(context));
//
// Every failure is a Status: syntax errors (with line number) at Parse; at Render,
// raise_exception(msg) (status message is exactly msg), undefined-variable use, type errors and
// resource limits (RenderLimits: nested calls, output size, a step budget).
#pragma once

#include <ctime>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "core/status.h"

namespace loom::jinja {

// Bounds that keep a hostile template from exhausting stack, memory or CPU. Real chat templates
// are far inside them: the heaviest of the 68 shared templates spend ~1300 steps per message at
// 400 messages (several are quadratic in the message count), so the default step budget covers
// conversations of a few thousand messages; a template that burns it takes a few seconds.
struct RenderLimits {
  int max_call_depth = 64;                     // nested macro / caller / recursive-loop calls
  size_t max_output_bytes = size_t{16} << 20;  // any rendered buffer or built string
  int64_t max_steps = 50'000'000;              // statements, expressions and loop iterations
};

class Template {
 public:
  static Result<Template> Parse(std::string_view source);

  // context: the template globals (messages, tools, add_generation_prompt, bos_token, ...).
  // Object key order is preserved, as Python dicts preserve it.
  Result<std::string> Render(const nlohmann::ordered_json& context) const {
    return Render(context, RenderLimits{});
  }
  Result<std::string> Render(const nlohmann::ordered_json& context,
                             const RenderLimits& limits) const;

 private:
  struct Body;
  explicit Template(std::shared_ptr<const Body> body) : body_(std::move(body)) {}
  std::shared_ptr<const Body> body_;
};

// The clock strftime_now reads; nullopt restores the system clock. Tests inject a fixed time.
void SetNowForTesting(std::optional<std::time_t> t);

}  // namespace loom::jinja
