#pragma once
// Parses a Jinja2 template into a syntax tree, following jinja2's grammar: statements for, if/
// elif/else, set (incl. namespace attributes and block set), macro, call, filter, with, break,
// continue, print and transformers' generation tag; expressions with jinja2's precedence (filters
// and tests bind tighter than arithmetic; ** is left-associative; `a if c else b`).
// Unknown filters and tests are reported at parse time unless they sit inside an if (jinja2
// defers those to run time), as jinja2 does.
#include <memory>
#include <string_view>

#include "chat/ast.h"

namespace hearth::chat {

// Throws TemplateError (Kind::Syntax) with the line and column of the problem.
std::shared_ptr<const Program> parse_template(std::string_view source);

}  // namespace hearth::chat
