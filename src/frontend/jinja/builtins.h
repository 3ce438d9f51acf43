// Template globals: jinja2's (range, dict, namespace, cycler, joiner) and transformers'
// (raise_exception, strftime_now).
#pragma once

#include "frontend/jinja/interpreter.h"

namespace loom::jinja {

void AddGlobals(Scope& scope);

}  // namespace loom::jinja
