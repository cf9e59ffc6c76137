#pragma once
// JSON Schema → GBNF. The grammar generates exactly the JSON texts the schema accepts, for
// the keywords listed in docs/grammar.md; any other keyword is an error that names it (never
// silently ignored), except the descriptive ones (title, description, examples, ...).
#include <string>

#include <nlohmann/json.hpp>

namespace hearth::grammar {

// Throws hearth::Error "json schema: at /properties/x: ..." for an unsupported keyword, a bad
// value, an unresolvable $ref, or a schema whose grammar would be too large.
std::string schema_to_gbnf(const nlohmann::ordered_json& schema);

// Any JSON object (what `--json` and Ollama's format: "json" ask for), with bounded
// whitespace and number lengths so that a small model cannot run on forever inside one.
std::string json_gbnf();

}  // namespace hearth::grammar
